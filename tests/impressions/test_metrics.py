"""Metric definitions on hand-made tracks (docs/metrics.md)."""

from __future__ import annotations

import pytest

from signage.domain import EMOTIONS, AgeBand, AudienceSnapshot, Emotion, Gender, Track
from signage.impressions import ImpressionAccumulator, SnapshotWindow


def mood(emotion: Emotion) -> tuple[float, ...]:
    return tuple(0.7 if e == emotion else 0.05 for e in EMOTIONS)


def person(
    track_id: int,
    first_seen: float,
    at: float,
    attention_s: float,
    *,
    age: float | None = 30.0,
    p_female: float | None = 0.9,
    emotion: Emotion | None = Emotion.NEUTRAL,
    minor: bool = False,
) -> Track:
    return Track(
        track_id=track_id,
        first_seen_mono=first_seen,
        last_seen_mono=at,
        dwell_s=at - first_seen,
        attention_s=attention_s,
        watching=False,
        age_years=age,
        age_std_years=2.0,
        p_female=p_female,
        emotion_probs=None if emotion is None else mood(emotion),
        possible_minor=minor,
    )


def snap(at: float, *tracks: Track) -> AudienceSnapshot:
    return AudienceSnapshot(at_mono=at, known=True, tracks=tracks)


def test_a_half_second_look_is_an_opportunity_but_not_a_viewer() -> None:
    acc = ImpressionAccumulator("p1", threshold_s=1.0, started_mono=100.0)
    acc.observe(snap(100.0, person(1, 100.0, 100.0, 0.0)))
    acc.observe(snap(101.0, person(1, 100.0, 101.0, 0.5)))
    acc.observe(snap(105.0, person(1, 100.0, 105.0, 0.5)))
    imp = acc.finish()
    assert imp.audience_known
    assert (imp.ots, imp.viewers) == (1, 0)
    assert imp.attention_s == pytest.approx(0.5)
    assert imp.dwell_s == pytest.approx(5.0)
    assert imp.attention_per_viewer_s is None
    assert imp.composition == ()


def test_a_look_of_exactly_the_threshold_makes_a_viewer() -> None:
    acc = ImpressionAccumulator("p1", threshold_s=1.0, started_mono=0.0)
    acc.observe(snap(3.0, person(1, 0.5, 3.0, 1.0, age=40, p_female=0.2)))
    imp = acc.finish()
    assert (imp.ots, imp.viewers) == (1, 1)
    assert imp.viewer_rate == 1.0
    assert [(c.age_band, c.gender, c.viewers) for c in imp.composition] == [(AgeBand.A35_44, Gender.MALE, 1)]


def test_leaving_and_coming_back_within_a_play_counts_once() -> None:
    acc = ImpressionAccumulator("p1", threshold_s=1.0, started_mono=0.0)
    acc.observe(snap(1.0, person(7, 0.0, 1.0, 0.6)))
    acc.observe(snap(2.0))  # stepped out of view
    acc.observe(snap(3.0))
    acc.observe(snap(4.0, person(7, 0.0, 4.0, 1.4), person(8, 3.5, 4.0, 0.2)))
    imp = acc.finish()
    assert imp.ots == 2
    assert imp.viewers == 1
    assert imp.attention_s == pytest.approx(1.6)
    assert [t.ordinal for t in imp.tracks] == [1, 2]


def test_attention_before_the_play_is_not_credited_to_it() -> None:
    acc = ImpressionAccumulator("p2", threshold_s=1.0, started_mono=10.0)
    # Watched the previous ad for 5 s, then 0.8 s of this one: not a viewer of this play.
    acc.observe(snap(9.5, person(1, 2.0, 9.5, 5.0)))
    acc.observe(snap(12.0, person(1, 2.0, 12.0, 5.8)))
    imp = acc.finish()
    assert imp.viewers == 0
    assert imp.attention_s == pytest.approx(0.8)
    assert imp.dwell_s == pytest.approx(2.5)


def test_present_before_but_first_sampled_during_counts_from_that_sample() -> None:
    acc = ImpressionAccumulator("p", threshold_s=1.0, started_mono=10.0)
    acc.observe(snap(11.0, person(1, 2.0, 11.0, 4.0)))
    acc.observe(snap(13.0, person(1, 2.0, 13.0, 5.5)))
    imp = acc.finish()
    assert imp.attention_s == pytest.approx(1.5)
    assert imp.viewers == 1


def test_a_counter_restart_is_banked_not_lost() -> None:
    acc = ImpressionAccumulator("p", threshold_s=1.0, started_mono=0.0)
    acc.observe(snap(1.0, person(1, 0.0, 1.0, 0.7)))
    acc.observe(snap(3.0, person(1, 2.5, 3.0, 0.4)))  # same id, counters restarted
    imp = acc.finish()
    assert imp.ots == 1
    assert imp.attention_s == pytest.approx(1.1)
    assert imp.viewers == 1


def test_emotional_response_compares_people_just_before_with_people_during() -> None:
    acc = ImpressionAccumulator("p", threshold_s=1.0, started_mono=10.0)
    acc.observe(snap(8.0, person(1, 5.0, 8.0, 0.0, emotion=Emotion.NEUTRAL)))
    acc.observe(snap(9.0, person(1, 5.0, 9.0, 0.0, emotion=Emotion.SAD), person(2, 8.5, 9.0, 0.0)))
    acc.observe(
        snap(12.0, person(1, 5.0, 12.0, 2.0, emotion=Emotion.HAPPY), person(3, 11.0, 12.0, 0.0, emotion=None))
    )
    acc.observe(snap(14.0, person(2, 8.5, 14.0, 0.0, emotion=Emotion.HAPPY)))
    imp = acc.finish()
    assert (imp.happy_before, imp.classified_before) == (0, 2)
    assert (imp.happy_during, imp.classified_during) == (2, 2)  # person 3 was never classified
    assert imp.happy_share_before == 0.0
    assert imp.happy_share_during == 1.0
    assert imp.ots == 3


def test_possible_minors_are_counted_once_each() -> None:
    acc = ImpressionAccumulator("p", threshold_s=1.0, started_mono=0.0)
    acc.observe(snap(1.0, person(1, 0.0, 1.0, 0.0, age=12, minor=True), person(2, 0.0, 1.0, 0.0)))
    acc.observe(snap(2.0, person(1, 0.0, 2.0, 0.0, age=14, minor=True), person(2, 0.0, 2.0, 0.0)))
    imp = acc.finish()
    assert imp.possible_minors == 1
    assert imp.tracks[0].age_band == AgeBand.TEEN


def test_no_camera_gives_an_unknown_audience_with_zero_counts() -> None:
    acc = ImpressionAccumulator("p", started_mono=0.0)
    acc.observe(AudienceSnapshot.unknown(1.0))
    imp = acc.finish()
    assert not imp.audience_known
    assert (imp.ots, imp.viewers, imp.attention_s) == (0, 0, 0.0)
    assert imp.viewer_rate is None


def test_unclassified_viewers_are_counted_but_left_out_of_composition() -> None:
    acc = ImpressionAccumulator("p", started_mono=0.0)
    acc.observe(snap(3.0, person(1, 0.0, 3.0, 2.0, age=None, p_female=None, emotion=None)))
    imp = acc.finish()
    assert imp.viewers == 1
    assert imp.composition == ()
    assert imp.attention_per_viewer_s == pytest.approx(2.0)


def test_finish_twice_refuses_more_observations() -> None:
    acc = ImpressionAccumulator("p", started_mono=0.0)
    acc.finish()
    with pytest.raises(RuntimeError, match="already finished"):
        acc.observe(snap(1.0))


def test_negative_threshold_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match="viewer threshold"):
        ImpressionAccumulator("p", threshold_s=-1)


def test_snapshot_window_keeps_only_recent_snapshots() -> None:
    window = SnapshotWindow(window_s=2.0)
    for t in range(6):
        window.add(snap(float(t)))
    assert [s.at_mono for s in window.snapshots()] == [3.0, 4.0, 5.0]
