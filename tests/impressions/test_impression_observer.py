"""The loop-facing observer: before window, one impression per shown play, none for standby/skips."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from signage.domain import AudienceSnapshot, Play, PlayOutcome, Track
from signage.impressions.observer import ImpressionObserver
from signage.impressions.sink import MemoryImpressionSink

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def play(ad_id: str = "cola", outcome: PlayOutcome | None = None) -> Play:
    return Play(
        str(uuid.uuid4()),
        "s1",
        ad_id,
        "acme",
        "summer",
        T0,
        T0 if outcome else None,
        10.0,
        10.0 if outcome else 0.0,
        outcome,
    )


def snap(at: float, attention: float) -> AudienceSnapshot:
    return AudienceSnapshot(at, True, (Track(1, 0.0, at, at, attention, attention > 0),))


def test_one_impression_per_play_counting_only_attention_during_it() -> None:
    sink = MemoryImpressionSink()
    obs = ImpressionObserver(sink, threshold_s=1.0, before_window_s=5.0)
    for t in (1.0, 2.0, 3.0):
        obs.audience_sample(snap(t, attention=t))  # watched the previous ad for 3 s
    p = play()
    obs.play_started(p, snap(4.0, 3.0))
    obs.audience_sample(snap(5.0, 3.5))
    ended = Play(**{**p.__dict__, "ended_at": T0, "outcome": PlayOutcome.COMPLETED})
    obs.play_ended(ended, snap(6.0, 3.5))
    assert len(sink.recorded) == 1
    impression, screen, _ = sink.recorded[0]
    assert (impression.play_id, screen, impression.ots, impression.viewers) == (p.play_id, "s1", 1, 0)
    assert impression.attention_s == 0.5


def test_standby_and_skipped_plays_leave_no_impression() -> None:
    sink = MemoryImpressionSink()
    obs = ImpressionObserver(sink)
    standby = play("standby")
    obs.play_started(standby, snap(1.0, 0.0))
    obs.play_ended(Play(**{**standby.__dict__, "outcome": PlayOutcome.COMPLETED}), snap(2.0, 0.0))
    skipped = play()
    obs.play_started(skipped, snap(3.0, 0.0))
    obs.play_ended(Play(**{**skipped.__dict__, "outcome": PlayOutcome.SKIPPED}), snap(3.1, 0.0))
    assert sink.recorded == []
