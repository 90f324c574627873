"""Fast tests of the evidence scorer's pure parts: split, metrics, word matching, fusion, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.subjects.evaluate import ItemResult, calibration_error, summarise
from classifier.subjects.frames import pick_text_frames
from classifier.subjects.fusion import (
    FusionModel,
    fit_linear_head,
    fit_temperature,
    fit_weights,
    softmax,
)
from classifier.subjects.lexicon import Lexicon, squash
from classifier.subjects.ocr import TextLine
from classifier.subjects.split import label_subjects, split_rows


def _rows() -> list[dict[str, str]]:
    rows = []
    for i in range(30):
        subject = ("food", "drinks", "pets")[i % 3]
        rows.append({"file": f"ad_{i:03d}.png", "subject": subject, "brand": f"brand{i // 2}"})
    return rows


def test_split_is_seeded_grouped_by_brand_and_keeps_every_subject_on_both_sides() -> None:
    train, test = split_rows(_rows(), seed=7)
    again_train, _ = split_rows(list(reversed(_rows())), seed=7)
    assert [r["file"] for r in train] == [r["file"] for r in again_train]  # row order does not matter
    assert {r["brand"] for r in train}.isdisjoint({r["brand"] for r in test})
    assert {r["subject"] for r in train} == {r["subject"] for r in test} == {"food", "drinks", "pets"}
    assert 0.3 <= len(test) / 30 <= 0.5
    other_train, _ = split_rows(_rows(), seed=8)
    assert [r["file"] for r in other_train] != [r["file"] for r in train]


def test_labels_may_list_several_subjects() -> None:
    assert label_subjects("food | drinks") == ("food", "drinks")


def _result(
    truth: tuple[str, ...], ranked: tuple[str, ...], conf: float, abstained: bool = False
) -> ItemResult:
    return ItemResult("f", truth, ranked, conf, abstained, 0.5, "still")


def test_summary_counts_any_listed_subject_and_separates_abstentions() -> None:
    results = [
        _result(("food", "drinks"), ("drinks", "food", "pets"), 0.9),
        _result(("pets",), ("food", "pets", "drinks"), 0.4, abstained=True),
        _result(("pets",), ("drinks", "food", "home"), 0.3, abstained=True),
        _result(("food",), ("food", "pets", "drinks"), 0.8),
    ]
    report = summarise(results)
    assert report.top1 == pytest.approx(0.5) and report.top3 == pytest.approx(0.75)
    assert report.abstention_rate == pytest.approx(0.5) and report.answered_top1 == pytest.approx(1.0)
    assert report.per_subject_recall == {"drinks": 1.0, "food": 0.5, "pets": 0.0}
    assert report.confusion["pets"] == {"drinks": 1, "food": 1}
    assert report.confusion["drinks"] == {"drinks": 1}


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    assert calibration_error([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert calibration_error([0.95] * 4, [False] * 4) == pytest.approx(0.95)


def test_misread_brand_names_still_match_but_other_words_do_not() -> None:
    lexicon = Lexicon({"drinks": ["gatorade", "tea"], "health": ["stayfree"], "pets": ["pedigree"]})
    lines = [TextLine("GATORAD is here", 0.9, 0.1, 0.0), TextLine("Stäyfree", 0.8, 0.1, 0.0)]
    found = {m.entry: m for m in lexicon.match(lines)}
    assert set(found) == {"gatorade", "stayfree"}
    assert found["stayfree"].similarity == pytest.approx(1.0)  # accents are dropped before matching
    assert 0.72 <= found["gatorade"].similarity < 1.0
    assert lexicon.match([TextLine("team spirit", 0.9, 0.1, 0.0)]) == []  # short entries match exactly
    evidence = Lexicon.subject_evidence(list(found.values()), ("drinks", "health", "pets"))
    assert evidence[0] > 0.6 and evidence[1] == pytest.approx(0.8) and evidence[2] == 0.0


def test_words_split_or_joined_by_ocr_match_multiword_entries() -> None:
    lexicon = Lexicon({"drinks": ["coca cola"]})
    assert [m.entry for m in lexicon.match([TextLine("CocaCola", 0.9, 0.1, 0.0)])] == ["coca cola"]
    assert squash("Coca-Cola ") == "cocacola"


def test_text_frames_are_the_end_card_and_the_most_different_scenes() -> None:
    descriptors = np.array([[0.0], [0.05], [1.0], [0.5], [0.9]], np.float32)
    assert pick_text_frames(descriptors, 2) == [0, 4]
    assert pick_text_frames(descriptors, 1) == [4]
    assert pick_text_frames(np.zeros((3, 1), np.float32), 3) == [2]  # identical frames are read once


def test_fitted_weights_follow_the_informative_signal() -> None:
    rng = np.random.default_rng(0)
    signals, truths = [], []
    for _ in range(60):
        right = int(rng.integers(4))
        useful = rng.normal(size=4)
        useful[right] += 3.0
        signals.append(np.stack([useful, rng.normal(size=4)], axis=1))
        truths.append([right])
    weights = fit_weights(signals, truths)
    assert weights[0] > 0.5 and abs(weights[1]) < 0.3


def test_temperature_softens_overconfident_logits() -> None:
    rng = np.random.default_rng(1)
    logits, truths = [], []
    for _ in range(200):
        z = np.zeros(3)
        z[0] = 10.0  # always very sure of subject 0 ...
        logits.append(z)
        truths.append([0] if rng.random() < 0.6 else [int(rng.integers(1, 3))])  # ... right 60% of the time
    t = fit_temperature(logits, truths)
    assert t > 3.0 and softmax(logits[0] / t)[0] == pytest.approx(0.6, abs=0.08)


def test_the_learned_head_speaks_only_for_subjects_it_knows(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    centres = {"food": rng.normal(size=16), "pets": rng.normal(size=16)}
    x = np.stack([centres[s] + 0.2 * rng.normal(size=16) for s in ("food", "pets") * 6])
    head = fit_linear_head(x, [(s,) for s in ("food", "pets") * 6])
    signal = head.signal(centres["pets"], ("food", "pets", "new-subject"))
    assert signal[1] > signal[2] > signal[0]  # the unknown subject sits at an even share
    model = FusionModel({"image": 1.0, "screen_text": 0.5, "screen_words": 2.0, "learned": 1.0}, 0.8, head)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = FusionModel.load(path)
    signals = {"image": np.array([0.0, 1.0, 0.0]), "learned": signal, "catalog_words": np.array([0, 0, 1.0])}
    probs, terms = loaded.probabilities(signals)
    assert probs == pytest.approx(model.probabilities(signals)[0])
    assert probs.sum() == pytest.approx(1.0) and set(terms) == set(signals)
    # Catalog words reuse the on-screen word weight, boosted: the title can decide a new subject.
    assert terms["catalog_words"][2] > terms["image"][1]
