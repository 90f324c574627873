"""What the loop relies on from its player, held by the fake (``FakePlayer``) and the real pygame one.

Each case runs against both; the real player runs headless (SDL's dummy driver, see conftest.py).
Stills, the standby slide, messages and black are timed by the injected clock, so those cases run
on a fake clock; a video is decoded by VLC in real time, so the clip case runs on the system clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from signage.clock import FakeClock, SystemClock
from signage.domain import STANDBY_ID, Ad, MediaKind, PlayOutcome
from signage.playback.base import Player, PlayResult
from signage.playback.fake import FakePlayer
from signage.playback.pygame_player import PygamePlayer
from signage.settings import DisplaySettings
from signage.testing.clips import RED_BGR, make_clip, make_still

MakePlayer = Callable[[Callable[[], float]], Player]


@pytest.fixture(params=["fake", "pygame"])
def make_player(request: pytest.FixtureRequest) -> Iterator[MakePlayer]:
    made: list[Player] = []

    def make(clock: Callable[[], float]) -> Player:
        player: Player
        if request.param == "fake":
            player = FakePlayer(clock)
        else:
            player = PygamePlayer(DisplaySettings(privacy_notice=False), headless=True, clock=clock)
        made.append(player)
        return player

    yield make
    for player in made:
        player.close()


@pytest.fixture
def still(tmp_path: Path) -> Path:
    return make_still(tmp_path / "still.png", RED_BGR)


def _ad(ad_id: str, media: Path, kind: MediaKind, duration_s: float) -> Ad:
    return Ad(ad_id=ad_id, media=media, kind=kind, duration_s=duration_s, advertiser="acme", campaign="c")


def test_a_still_completes_after_its_duration_once(make_player: MakePlayer, still: Path) -> None:
    clock = FakeClock()
    player = make_player(clock)
    ad = _ad("poster", still, MediaKind.IMAGE, 2.0)
    player.prepare(ad)
    player.start(ad)
    assert player.pump() is None
    clock.advance(1.5)
    assert player.pump() is None and player.remaining_s() == pytest.approx(0.5)
    clock.advance(0.5)
    assert player.pump() == PlayResult("poster", PlayOutcome.COMPLETED, 2.0)
    assert player.pump() is None and player.remaining_s() is None  # reported once, then idle


def test_a_missing_file_is_skipped_once_with_a_sentence_naming_it(
    make_player: MakePlayer, tmp_path: Path
) -> None:
    player = make_player(FakeClock())
    media = tmp_path / "gone.mp4"
    ad = _ad("gone", media, MediaKind.VIDEO, 5.0)
    player.prepare(ad)
    player.start(ad)
    result = player.pump()
    assert result is not None and (result.ad_id, result.outcome, result.actual_s) == (
        "gone",
        PlayOutcome.SKIPPED,
        0.0,
    )
    assert str(media) in result.reason and result.reason.endswith(".")
    assert player.pump() is None


def test_stop_current_interrupts_what_plays_and_then_has_nothing_to_stop(
    make_player: MakePlayer, still: Path
) -> None:
    clock = FakeClock()
    player = make_player(clock)
    player.start(_ad("poster", still, MediaKind.IMAGE, 10.0))
    clock.advance(3.0)
    assert player.stop_current("shutdown.") == PlayResult("poster", PlayOutcome.INTERRUPTED, 3.0, "shutdown.")
    assert player.stop_current("again.") is None
    assert player.pump() is None and player.remaining_s() is None


def test_a_new_item_replaces_the_current_one_without_reporting_it(
    make_player: MakePlayer, still: Path
) -> None:
    clock = FakeClock()
    player = make_player(clock)
    player.start(_ad("first", still, MediaKind.IMAGE, 10.0))
    clock.advance(1.0)
    player.show_standby(2.0)  # the loop cut in: only the standby slide's end is reported
    clock.advance(2.0)
    assert player.pump() == PlayResult(STANDBY_ID, PlayOutcome.COMPLETED, 2.0)
    assert player.pump() is None


@pytest.mark.parametrize("kind", ["message", "black"])
def test_a_message_or_black_reports_its_item_id_after_its_seconds(
    make_player: MakePlayer, still: Path, kind: str
) -> None:
    clock = FakeClock()
    player = make_player(clock)
    if kind == "message":
        player.show_message("alert-1", "Please leave the building by the nearest exit.", still, 4.0)
    else:
        player.show_black("closed", 4.0)
    clock.advance(3.0)
    assert player.pump() is None
    clock.advance(1.0)
    item = "alert-1" if kind == "message" else "closed"
    assert player.pump() == PlayResult(item, PlayOutcome.COMPLETED, 4.0)


def test_a_short_clip_plays_to_the_end_and_is_reported_once(make_player: MakePlayer, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "red.mp4", RED_BGR, frames=15)  # half a second at 30 fps
    player = make_player(SystemClock().monotonic)
    ad = _ad("red", clip, MediaKind.VIDEO, 0.5)
    player.prepare(ad)
    player.start(ad)
    result = None
    deadline = time.monotonic() + 20.0  # a bound for a hung decoder, not a measure of speed
    while result is None and time.monotonic() < deadline:
        result = player.pump()
        time.sleep(0.003)
    assert result is not None, "the clip never ended"
    assert (result.ad_id, result.outcome, result.reason) == ("red", PlayOutcome.COMPLETED, "")
    assert result.actual_s > 0
    assert player.pump() is None and player.remaining_s() is None
