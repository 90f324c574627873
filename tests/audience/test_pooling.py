"""Attributes pooled over a track, with uncertainty, and classification throttled per person."""

from __future__ import annotations

import itertools
import math

import pytest

from classifier.types import FaceAttributes, FaceObservation
from signage.audience import Tracker, TrackerConfig
from signage.audience.pooling import AttributePool

HAPPY = (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
SAD = (0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def attrs(
    age: float = 30.0, std: float = 5.0, p_female: float = 0.8, emotions: tuple[float, ...] = HAPPY
) -> FaceAttributes:
    return FaceAttributes(age_years=age, age_std_years=std, p_female=p_female, emotion_probs=emotions)


def face(cx: float = 320.0, width: float = 60.0, yaw: float = 0.0) -> FaceObservation:
    return FaceObservation(
        x=cx - width / 2, y=200.0, width=width, height=width, score=0.9, yaw_deg=yaw, pitch_deg=0.0
    )


def test_confidence_grows_with_samples_but_saturates() -> None:
    pool = AttributePool(correlation=0.5)
    spreads, p_female = [], []
    for i in range(40):
        pool.add(attrs(), now_mono=i * 0.1)
        summary = pool.summary()
        assert summary is not None
        spreads.append(summary.age_std_years)
        p_female.append(summary.p_female)
    assert spreads[0] == pytest.approx(5.0)
    assert all(b <= a for a, b in itertools.pairwise(spreads))
    assert spreads[-1] > 5.0 * math.sqrt(0.5) - 1e-9  # correlated frames never pin the age down
    assert p_female[0] == pytest.approx(0.8)
    assert all(b >= a for a, b in itertools.pairwise(p_female))
    # n samples count as at most 1/rho = 2 independent ones: odds at most 4^2 = 16.
    assert p_female[-1] < 16 / 17


def test_disagreeing_samples_widen_the_spread() -> None:
    agree, disagree = AttributePool(), AttributePool()
    for i in range(10):
        agree.add(attrs(age=30.0), i)
        disagree.add(attrs(age=20.0 if i % 2 else 40.0), i)
    a, d = agree.summary(), disagree.summary()
    assert a is not None and d is not None
    assert a.age_years == pytest.approx(30.0) and d.age_years == pytest.approx(30.0)
    assert d.age_std_years > a.age_std_years + 5.0


def test_confident_samples_weigh_more() -> None:
    pool = AttributePool()
    pool.add(attrs(age=20.0, std=2.0), 0.0)
    pool.add(attrs(age=40.0, std=8.0), 0.1)
    summary = pool.summary()
    assert summary is not None
    assert 20.0 < summary.age_years < 22.0  # weights 1/4 vs 1/64


def test_emotion_follows_the_present_with_a_half_life() -> None:
    pool = AttributePool(emotion_half_life_s=2.0)
    pool.add(attrs(emotions=HAPPY), 0.0)
    pool.add(attrs(emotions=SAD), 2.0)  # one half-life later: half and half
    summary = pool.summary()
    assert summary is not None and summary.emotion_probs is not None
    assert summary.emotion_probs[3] == pytest.approx(0.5)
    assert summary.emotion_probs[5] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("age", "std", "minor"),
    [(10.0, 3.0, True), (16.0, 4.0, True), (21.0, 4.0, True), (30.0, 4.0, False), (45.0, 8.0, False)],
)
def test_possible_minor_from_p_age_under_18(age: float, std: float, minor: bool) -> None:
    tracker = Tracker(TrackerConfig(minor_probability_threshold=0.2))
    for i in range(3):
        tracker.update([face()], i * 0.033)
    track_id = tracker.snapshot(0.1).tracks[0].track_id
    tracker.add_attributes(track_id, attrs(age=age, std=std), 0.1)
    track = tracker.snapshot(0.1).tracks[0]
    assert track.p_minor is not None
    assert track.p_minor == pytest.approx(0.5 * (1 + math.erf((18 - age) / (std * math.sqrt(2)))))
    assert track.possible_minor is minor
    assert tracker.snapshot(0.1).possible_minor_present is minor


@pytest.mark.parametrize("policy", [True, False])
def test_unclassified_person_minor_policy(policy: bool) -> None:
    tracker = Tracker(TrackerConfig(unclassified_is_possible_minor=policy))
    for i in range(3):
        snapshot = tracker.update([face()], i * 0.033)
    assert snapshot.tracks[0].p_minor is None
    assert snapshot.tracks[0].possible_minor is policy


def drive(
    tracker: Tracker, seconds: float, answer: FaceAttributes, faces: list[FaceObservation]
) -> list[int]:
    """Run at 30 fps, classifying whatever the tracker asks for; the ids classified, in order."""
    classified: list[int] = []
    for i in range(round(seconds * 30)):
        now = i / 30
        tracker.update(faces, now)
        for request in tracker.due_for_attributes(now):
            tracker.add_attributes(request.track_id, answer, now)
            classified.append(request.track_id)
    return classified


def test_classification_is_throttled_once_confident() -> None:
    config = TrackerConfig(
        classify_interval_s=0.1, reclassify_interval_s=2.0, confident_samples=5, confident_probability=0.9
    )
    # A clear-cut face: confident after 5 samples (0.5 s), then every 2 s.
    sure = drive(Tracker(config), 10.0, attrs(p_female=0.97), [face()])
    assert 5 + 4 <= len(sure) <= 5 + 6
    # An ambiguous face keeps being classified every 0.1 s until 15 samples, then every 2 s.
    unsure = drive(Tracker(config), 10.0, attrs(p_female=0.6), [face()])
    assert 15 + 3 <= len(unsure) <= 15 + 5
    assert len(unsure) > len(sure)
    # Either way far fewer than the 300 frames.
    assert len(unsure) < 30


def test_small_and_turned_faces_are_not_classified() -> None:
    config = TrackerConfig(min_face_px_for_attributes=24.0, max_attribute_yaw_deg=45.0)
    assert drive(Tracker(config), 1.0, attrs(), [face(width=16.0)]) == []
    assert drive(Tracker(config), 1.0, attrs(), [face(yaw=60.0)]) == []


def test_batch_limit_and_neediest_first() -> None:
    config = TrackerConfig(max_faces_per_batch=2, classify_interval_s=0.0)
    tracker = Tracker(config)
    faces = [face(cx=80.0 + 120 * k) for k in range(4)]
    for i in range(3):
        tracker.update(faces, i / 30)
    first = tracker.due_for_attributes(3 / 30)
    assert [r.track_id for r in first] == [1, 2]
    for request in first:
        tracker.add_attributes(request.track_id, attrs(), 3 / 30)
    tracker.update(faces, 4 / 30)
    assert [r.track_id for r in tracker.due_for_attributes(4 / 30)] == [3, 4]  # the unclassified go first


def test_bad_model_output_is_a_clear_error() -> None:
    tracker = Tracker()
    for i in range(3):
        tracker.update([face()], i / 30)
    bad = FaceAttributes(age_years=float("nan"), age_std_years=5.0, p_female=0.5, emotion_probs=HAPPY)
    with pytest.raises(ValueError, match="non-finite"):
        tracker.add_attributes(1, bad, 0.1)
    with pytest.raises(ValueError, match="no track 99"):
        tracker.add_attributes(99, attrs(), 0.1)


def test_snapshot_counts_and_mood() -> None:
    tracker = Tracker()
    faces = [face(cx=150.0), face(cx=450.0)]
    for i in range(3):
        tracker.update(faces, i / 30)
    tracker.add_attributes(1, attrs(age=30.0, p_female=0.95, emotions=HAPPY), 0.1)
    tracker.add_attributes(2, attrs(age=50.0, p_female=0.05, emotions=SAD), 0.1)
    snap = tracker.snapshot(0.1)
    assert snap.present == 2 and snap.watching == 2
    counts = {(band.value, gender.value): n for (band, gender), n in snap.counts().items()}
    assert counts == {("25-34", "female"): 1, ("45-54", "male"): 1}
    mood = {e.value: p for e, p in snap.mood().items()}
    assert mood["happy"] == pytest.approx(0.5) and mood["sad"] == pytest.approx(0.5)
