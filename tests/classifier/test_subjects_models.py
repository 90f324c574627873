"""The real subject classifier (EfficientNet-Lite0 + MiniLM + RapidOCR + the shipped scorer) on photos that
ship with scikit-image and on ads the tests draw."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from classifier.subjects.classifier import SubjectClassifier
from classifier.subjects.fusion import load_fusion
from classifier.subjects.ocr import OcrEngine
from classifier.subjects.taxonomy import load_subjects
from classifier.subjects.types import Subject
from signage.media import write_h264

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier() -> SubjectClassifier:
    return SubjectClassifier(load_subjects(), model=load_fusion(), ocr=OcrEngine(threads=2))


def _png(folder: Path, name: str, rgb: np.ndarray) -> Path:
    path = folder / f"{name}.png"
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


def _ken_burns_clip(path: Path, rgb: np.ndarray, seconds: float = 4.0, fps: int = 25) -> Path:
    """A 720p H.264 commercial: a slow zoom on the photo, then a plain end card with a slogan."""
    w, h = 1280, 720
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    frames = int(seconds * fps)

    def render() -> Iterator[np.ndarray]:
        for i in range(frames):
            if i < frames - fps:  # zoom from the whole photo to its centre
                zoom = 1.0 + 0.3 * i / frames
                ph, pw = bgr.shape[:2]
                ch, cw = int(ph / zoom), int(pw / zoom)
                y, x = (ph - ch) // 2, (pw - cw) // 2
                yield cv2.resize(bgr[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_LINEAR)
            else:
                frame = np.full((h, w, 3), 245, np.uint8)
                cv2.putText(
                    frame, "Happy every day", (330, 380), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (40, 40, 40), 4
                )
                yield frame

    write_h264(path, render(), (w, h), fps)
    return path


def test_coffee_photo_is_drinks(classifier: SubjectClassifier, tmp_path: Path) -> None:
    scores = classifier.classify(_png(tmp_path, "coffee", data.coffee())).scores
    assert scores.top_ids(1) == ("drinks",)
    assert sum(s.score for s in scores.scores) == pytest.approx(1.0, abs=1e-5)


def test_cat_photo_is_pets(classifier: SubjectClassifier, tmp_path: Path) -> None:
    assert classifier.classify(_png(tmp_path, "chelsea", data.chelsea())).scores.top_ids(1) == ("pets",)


def _poster(folder: Path, name: str, text: str, colour: tuple[int, int, int], scale: float) -> Path:
    """A generated ad: a colour gradient with one headline drawn on it."""
    h, w = 720, 1280
    ramp = np.linspace(0.6, 1.0, w, dtype=np.float32)[None, :, None]
    bgr = (np.ones((h, w, 3), np.float32) * np.array(colour, np.float32) * ramp).astype(np.uint8)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 8)
    cv2.putText(bgr, text, ((w - tw) // 2, (h + th) // 2), cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), 8)
    path = folder / name
    cv2.imwrite(str(path), bgr)
    return path


def test_a_mortgage_poster_reads_as_finance(classifier: SubjectClassifier, tmp_path: Path) -> None:
    result = classifier.classify(_poster(tmp_path, "a.png", "MORTGAGE 3.9%", (120, 60, 20), 3.0))
    assert any("MORTGAGE" in t.upper() for t in result.screen_text)
    assert result.scores.top_ids(1) == ("finance",) and not result.abstains()
    assert result.contributions["finance"]["screen_words"] > 0  # the word, not the picture, decided


def test_a_beer_poster_reads_as_alcohol(classifier: SubjectClassifier, tmp_path: Path) -> None:
    result = classifier.classify(_poster(tmp_path, "b.jpg", "BEER", (20, 140, 220), 6.0))
    assert result.scores.top_ids(1) == ("alcohol",) and not result.abstains()


def test_a_blank_frame_is_unsure(classifier: SubjectClassifier, tmp_path: Path) -> None:
    result = classifier.classify(_png(tmp_path, "blank", np.full((720, 1280, 3), 128, np.uint8)))
    assert result.screen_text == () and result.words == ()
    assert result.abstains()


def test_the_same_file_under_two_names_gets_the_same_answer(
    classifier: SubjectClassifier, tmp_path: Path
) -> None:
    first = _poster(tmp_path, "finance-mortgage.png", "BEER", (20, 140, 220), 6.0)
    second = tmp_path / "pets-kitten.png"
    second.write_bytes(first.read_bytes())
    a, b = classifier.classify(first), classifier.classify(second)
    assert a.scores == b.scores and a.contributions == b.contributions


def test_generated_commercial_of_a_cat_is_pets(classifier: SubjectClassifier, tmp_path: Path) -> None:
    clip = _ken_burns_clip(tmp_path / "cat-ad.mp4", data.chelsea())
    frames = classifier.frames(clip)
    assert len(frames) >= 2 and frames[-1].time_s >= 2.99  # the end card was looked at
    assert frames[-1].rgb.mean() > 230 and frames[0].rgb.mean() < 200
    assert classifier.classify(clip).scores.top_ids(1) == ("pets",)


def test_ad_text_decides_when_the_picture_says_nothing(classifier: SubjectClassifier, tmp_path: Path) -> None:
    blank = _png(tmp_path, "blank", np.full((200, 300, 3), 128, np.uint8))
    scores = classifier.classify(
        blank, title="Cold lager", description="Brewed in town since 1892. 18+ only."
    )
    assert scores.scores.top_ids(1) == ("alcohol",)


def test_a_new_subject_works_without_retraining(tmp_path: Path) -> None:
    subjects = (
        Subject("cats", "Cats and kittens: domestic cats, cat food"),
        Subject("cars", "Cars: automobiles, vehicles"),
        Subject("coffee-shop", "Coffee shop: espresso, cappuccino, coffee cups"),
    )
    custom = SubjectClassifier(subjects, model=load_fusion())  # trained on other subjects
    assert custom.classify(_png(tmp_path, "chelsea", data.chelsea())).scores.top_ids(1) == ("cats",)
    assert custom.classify(_png(tmp_path, "coffee", data.coffee())).scores.top_ids(1) == ("coffee-shop",)
