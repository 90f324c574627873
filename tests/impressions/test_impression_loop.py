"""The observer inside the real slot loop (fakes for player, store and clock): one impression per
play, the person watching throughout counted as a viewer of each play, in the same play ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.clock import FakeClock
from signage.domain import Ad, AudienceSnapshot, Catalog, MediaKind, PlayOutcome, Track
from signage.impressions.observer import ImpressionObserver
from signage.impressions.sink import MemoryImpressionSink
from signage.loop import LoopConfig, SlotLoop
from signage.playback.fake import FakePlayer
from signage.settings import PolicySettings
from signage.store.fake import FakePlaySink
from signage.targeting.programme import Programme

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_each_shown_play_gets_its_impression(tmp_path: Path) -> None:
    clock = FakeClock(start_utc=START)
    ads = []
    for ad_id in ("a", "b"):
        (tmp_path / f"{ad_id}.mp4").write_bytes(b"x")
        ads.append(Ad(ad_id, tmp_path / f"{ad_id}.mp4", MediaKind.VIDEO, 5.0, "acme", f"camp-{ad_id}"))

    def audience() -> AudienceSnapshot:
        # One person arrived at t=1000 and watches the screen the whole time; a passer-by never looks.
        t = clock.monotonic()
        watcher = Track(1, 1000.0, t, t - 1000.0, t - 1000.0, True, age_years=30, p_female=0.9)
        passer = Track(2, 1000.0, t, t - 1000.0, 0.0, False)
        return AudienceSnapshot(t, True, (watcher, passer))

    sink, impressions = FakePlaySink(), MemoryImpressionSink()
    loop = SlotLoop(
        LoopConfig(screen_id="s1", lead_s=1.0, standby_slot_s=4.0),
        FakePlayer(clock.monotonic),
        sink,
        audience,
        Programme(Catalog(tuple(ads)), PolicySettings(), ZoneInfo("UTC"), random.Random(1)).decide,
        clock,
        [ImpressionObserver(impressions, threshold_s=1.0)],
    )
    end = clock.monotonic() + 16.0
    while clock.monotonic() < end:
        loop.step()
        clock.advance(0.1)
    completed = {p.play_id for p in sink.plays.values() if p.outcome is PlayOutcome.COMPLETED}
    assert len(completed) == 3
    by_play = {imp.play_id: imp for imp, screen, _ in impressions.recorded}
    assert set(by_play) == completed
    for imp in by_play.values():
        assert (imp.ots, imp.viewers) == (2, 1)
        # Only the seconds of this play are credited, not the cumulative attention since arrival.
        assert 4.0 <= imp.attention_s <= 5.5
