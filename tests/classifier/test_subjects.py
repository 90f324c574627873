"""Fast tests of the subject classifier's pure parts: frame selection, zero-shot maths, learned head."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from classifier.subjects import zeroshot
from classifier.subjects.frames import MediaSamplingError, sample_frames, scaled_size, select_representatives
from classifier.subjects.head import Example, fit_head
from classifier.subjects.imagenet import class_names, class_texts
from classifier.subjects.ocr import clean_text
from classifier.subjects.taxonomy import load_subjects
from classifier.subjects.types import Subject, SubjectScores
from signage.media import write_h264


def test_one_frame_per_scene_and_always_the_last() -> None:
    scenes = [np.full(8, v, np.float32) for v in (0.0, 0.0, 0.0, 0.5, 0.5, 0.9, 0.9, 0.9, 0.2)]
    picks = select_representatives(np.stack(scenes), max_frames=8)
    assert picks == [1, 3, 6, 8]


def test_too_many_scenes_keep_the_most_different_and_the_end() -> None:
    descriptors = np.stack([np.full(8, v, np.float32) for v in (0.0, 0.2, 0.21, 0.4, 0.6, 0.8, 1.0)])
    picks = select_representatives(descriptors, max_frames=3, cut_threshold=0.01)
    assert len(picks) == 3 and picks[-1] == 6 and 0 in picks


def test_scaled_size_is_even_short_side_first_and_caps_banners() -> None:
    assert scaled_size(1920, 1080, 224) == (398, 224)
    assert scaled_size(3000, 300, 224) == (448, 224)


def _clip(path: Path, colours: list[tuple[int, int, int]], seconds_each: float) -> Path:
    """An H.264 clip of flat-colour scenes with hard cuts, as a commercial would have."""
    fps, (w, h) = 10, (320, 180)

    def frames() -> Iterator[np.ndarray]:
        for colour in colours:
            for i in range(int(seconds_each * fps)):
                frame = np.full((h, w, 3), colour, np.uint8)
                cv2.circle(frame, (20 + 5 * i, 90), 10, (255, 255, 255), -1)
                yield frame

    write_h264(path, frames(), (w, h), fps, preset="ultrafast")
    return path


def test_video_sampling_finds_every_scene_including_the_end_card(tmp_path: Path) -> None:
    colours = [(0, 0, 200), (0, 200, 0), (200, 0, 0), (30, 200, 200)]
    frames = sample_frames(_clip(tmp_path / "ad.mp4", colours, 2.0), max_frames=8, short_side=64)
    assert all(f.rgb.shape == (64, 114, 3) for f in frames)
    seen = {tuple(int(c) for c in f.rgb[5, 5]) for f in frames}
    for b, g, r in colours:  # rgb of each scene's background appears in some sampled frame
        assert any(np.abs(np.array(s) - (r, g, b)).max() < 40 for s in seen), (r, g, b)
    assert frames[-1].time_s > 6.0


def test_unreadable_media_is_one_clear_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    with pytest.raises(MediaSamplingError, match="is not a readable image"):
        sample_frames(bad)
    with pytest.raises(MediaSamplingError, match=r"unsupported type '\.txt'"):
        (tmp_path / "a.txt").write_bytes(b"hello")
        sample_frames(tmp_path / "a.txt")


def test_class_names_ship_with_the_package() -> None:
    names = class_names()
    assert len(names) == 1000 and names[0][0] == "tench" and names[999][0] == "toilet tissue"
    texts = class_texts()
    assert "dog" in texts[207] and "golden retriever" in texts[207]
    assert "Tinca" not in texts[0]  # Latin names are dropped for the English sentence model


def test_subject_phrases_split_the_description() -> None:
    phrases = zeroshot.subject_phrases(Subject("pets", "Pets and pet care: dogs, cats and hamsters"))
    assert phrases[:3] == ["Pets and pet care: dogs, cats and hamsters", "Pets and pet care", "pets"]
    assert {"dogs", "cats", "hamsters"} <= set(phrases)


def test_affinity_and_scores_follow_similarity() -> None:
    index, _ = zeroshot.PhraseIndex.build((Subject("a", "x: y"), Subject("b", "x: y")))
    phrases = np.zeros((len(index.owners), 4), np.float32)
    phrases[index.owners == 0, 0] = 1.0
    phrases[index.owners == 1, 1] = 1.0
    classes = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], np.float32)
    affinity = zeroshot.class_affinity(classes, phrases, index)
    assert affinity[0].argmax() == 0 and affinity[1].argmax() == 1
    assert affinity[2].sum() < 0.05  # a class like no subject carries little weight
    probs = np.array([0.1, 0.8, 0.1], np.float32)
    assert zeroshot.image_scores(probs, affinity).argmax() == 1
    mixed = zeroshot.combine(np.array([0.6, 0.4]), np.array([0.0, 1.0]), 0.5)
    assert mixed == pytest.approx([0.3, 0.7])


def test_head_reranks_only_known_subjects_and_keeps_their_mass() -> None:
    rng = np.random.default_rng(0)
    centres = {s: rng.normal(size=1280) for s in ("food", "pets")}
    examples = []
    for subject, centre in centres.items():
        for _ in range(6):
            v = centre + 0.3 * rng.normal(size=1280)
            examples.append(Example((v / np.linalg.norm(v)).astype(np.float32), (subject,)))
    head = fit_head(examples)
    assert head is not None and head.subject_ids == ("food", "pets")
    query = centres["pets"] / np.linalg.norm(centres["pets"])
    ids = ("food", "drinks", "pets")
    zero_shot = np.array([0.5, 0.3, 0.2])
    refined = head.refine(zero_shot, ids, query.astype(np.float32))
    assert refined[2] > zero_shot[2] and refined[1] == pytest.approx(0.3)
    assert refined.sum() == pytest.approx(1.0)
    assert fit_head(examples[:6]) is None  # one subject only: nothing to learn yet


def test_scores_sorted_and_queryable() -> None:
    scores = SubjectScores.from_vector(("a", "b", "c"), np.array([0.2, 0.5, 0.3]))
    assert scores.top_ids(2) == ("b", "c") and scores.score_of("a") == pytest.approx(0.2)


def test_default_taxonomy_has_the_issue_subjects_and_restricts_alcohol() -> None:
    subjects = load_subjects()
    assert [s.subject_id for s in subjects] == [
        "food",
        "drinks",
        "alcohol",
        "beauty",
        "fashion",
        "sports",
        "electronics",
        "automotive",
        "travel",
        "finance",
        "kids",
        "home",
        "health",
        "pets",
    ]
    assert [s.subject_id for s in subjects if s.restricted] == ["alcohol"]
    assert all(len(s.description) > 40 for s in subjects)


def test_ocr_noise_is_dropped() -> None:
    assert clean_text("|| FRESH espresso ~~ 2,99 € a7 Bean&Co") == "FRESH espresso Bean&Co"


def test_gap_fill_only_where_keyframes_are_missing() -> None:
    from classifier.subjects.frames import gap_fill_times

    assert gap_fill_times([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 59.0], 60.0) == []
    filled = gap_fill_times([0.0], 8.0)
    assert filled[0] == pytest.approx(2.0) and filled[-1] > 7.0
    assert gap_fill_times([0.0, 5.0, 10.0], 30.0)[-1] > 25.0  # the end, far from any keyframe, is looked at


def test_only_the_top_classes_vote() -> None:
    probs = np.array([0.3, 0.2, 0.1] + [0.4 / 97] * 97, np.float32)
    kept = zeroshot.keep_top_classes(probs, 2)
    assert kept[:2] == pytest.approx([0.6, 0.4]) and kept[2:].sum() == 0.0
