"""The real subject classifier (EfficientNet-Lite0 + MiniLM) on photos that ship with scikit-image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from classifier.subjects.classifier import SubjectClassifier
from classifier.subjects.taxonomy import load_subjects
from classifier.subjects.types import Subject
from signage.media import write_h264

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier() -> SubjectClassifier:
    return SubjectClassifier(load_subjects())


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
    scores = classifier.classify(_png(tmp_path, "coffee", data.coffee()))
    assert scores.top_ids(1) == ("drinks",)
    assert sum(s.score for s in scores.scores) == pytest.approx(1.0, abs=1e-5)


def test_cat_photo_is_pets(classifier: SubjectClassifier, tmp_path: Path) -> None:
    assert classifier.classify(_png(tmp_path, "chelsea", data.chelsea())).top_ids(1) == ("pets",)


def test_generated_commercial_of_a_cat_is_pets(classifier: SubjectClassifier, tmp_path: Path) -> None:
    clip = _ken_burns_clip(tmp_path / "cat-ad.mp4", data.chelsea())
    frames = classifier.frames(clip)
    assert len(frames) >= 2 and frames[-1].time_s >= 2.99  # the end card was looked at
    assert frames[-1].rgb.mean() > 230 and frames[0].rgb.mean() < 200
    assert classifier.classify(clip).top_ids(1) == ("pets",)


def test_ad_text_decides_when_the_picture_says_nothing(classifier: SubjectClassifier, tmp_path: Path) -> None:
    blank = _png(tmp_path, "blank", np.full((200, 300, 3), 128, np.uint8))
    scores = classifier.classify(
        blank, title="Cold lager", description="Brewed in town since 1892. 18+ only."
    )
    assert scores.top_ids(1) == ("alcohol",)


def test_a_new_subject_works_without_retraining(tmp_path: Path) -> None:
    subjects = (
        Subject("cats", "Cats and kittens: domestic cats, cat food"),
        Subject("cars", "Cars: automobiles, vehicles"),
        Subject("coffee-shop", "Coffee shop: espresso, cappuccino, coffee cups"),
    )
    custom = SubjectClassifier(subjects)
    assert custom.classify(_png(tmp_path, "chelsea", data.chelsea())).top_ids(1) == ("cats",)
    assert custom.classify(_png(tmp_path, "coffee", data.coffee())).top_ids(1) == ("coffee-shop",)


def test_evaluate_reports_accuracy_on_a_labelled_folder(
    classifier: SubjectClassifier, tmp_path: Path
) -> None:
    from classifier.subjects.evaluate import evaluate

    _png(tmp_path, "coffee", data.coffee())
    _png(tmp_path, "cat", data.chelsea())
    _png(tmp_path, "cat2", data.chelsea()[::-1])
    (tmp_path / "labels.csv").write_text("file,subject\ncoffee.png,drinks\ncat.png,pets\ncat2.png,pets\n")
    reports = evaluate(tmp_path, classifier, with_head=True)
    zero_shot = reports["zero_shot"]
    assert zero_shot.images == 3 and zero_shot.top1 == pytest.approx(1.0) and zero_shot.top3 == 1.0
    assert reports["with_head_2fold"].images == 3
