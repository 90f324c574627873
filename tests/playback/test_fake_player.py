"""The FakePlayer the loop tests rely on: exact, clock-driven, and honest about missing files."""

from __future__ import annotations

from pathlib import Path

from signage.clock import FakeClock
from signage.domain import Ad, MediaKind, PlayOutcome
from signage.playback.fake import FakePlayer


def _ad(media: Path, ad_id: str = "a", duration_s: float = 5.0) -> Ad:
    return Ad(
        ad_id=ad_id, media=media, kind=MediaKind.VIDEO, duration_s=duration_s, advertiser="x", campaign="c"
    )


def test_plays_for_its_duration_of_the_injected_clock(tmp_path: Path) -> None:
    media = tmp_path / "a.mp4"
    media.write_bytes(b"x")
    clock = FakeClock(start=100.0)
    player = FakePlayer(clock)
    player.prepare(_ad(media))
    player.start(_ad(media))
    clock.advance(4.9)
    assert player.pump() is None
    assert abs((player.remaining_s() or 0.0) - 0.1) < 1e-9
    clock.advance(0.2)
    result = player.pump()
    assert result is not None and result.outcome is PlayOutcome.COMPLETED and result.actual_s == 5.0
    assert player.pump() is None and player.remaining_s() is None
    assert player.shown == ["a"] and player.prepared == ["a"]


def test_missing_media_is_skipped_once_with_a_reason(tmp_path: Path) -> None:
    player = FakePlayer(FakeClock(start=100.0))
    player.start(_ad(tmp_path / "gone.mp4", "gone"))
    result = player.pump()
    assert result is not None and result.outcome is PlayOutcome.SKIPPED
    assert "gone.mp4" in result.reason
    assert player.pump() is None and player.shown == []


def test_stop_current_interrupts_and_standby_reports_its_own_id(tmp_path: Path) -> None:
    clock = FakeClock(start=100.0)
    player = FakePlayer(clock)
    player.show_standby(10.0)
    clock.advance(3.0)
    stopped = player.stop_current("shutdown.")
    assert stopped is not None and stopped.ad_id == "standby"
    assert stopped.outcome is PlayOutcome.INTERRUPTED and stopped.actual_s == 3.0
    assert player.stop_current("again.") is None
    player.show_standby(1.0)
    clock.advance(1.0)
    done = player.pump()
    assert done is not None and done.ad_id == "standby" and done.outcome is PlayOutcome.COMPLETED
