"""The whole slot loop on fakes: player, store, audience and clock."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage.clock import FakeClock
from signage.domain import Ad, AudienceSnapshot, Catalog, MediaKind, PlayOutcome, Track
from signage.loop import LoopConfig, SlotLoop
from signage.playback.fake import FakePlayer
from signage.settings import PolicySettings
from signage.status import HeartbeatObserver
from signage.store.fake import FakePlaySink
from signage.targeting.programme import Programme

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def make_ad(tmp_path: Path, ad_id: str, *, exists: bool = True, **kw: object) -> Ad:
    media = tmp_path / f"{ad_id}.mp4"
    if exists:
        media.write_bytes(b"x")
    return Ad(ad_id, media, MediaKind.VIDEO, 5.0, f"adv-{ad_id}", f"camp-{ad_id}", **kw)  # type: ignore[arg-type]


def adult() -> AudienceSnapshot:
    person = Track(1, 0.0, 1.0, 1.0, 1.0, True, age_years=40, age_std_years=3, p_female=0.2)
    return AudienceSnapshot(at_mono=0.0, known=True, tracks=(person,))


class Rig:
    def __init__(
        self,
        ads: list[Ad],
        audience: Callable[[], AudienceSnapshot] = adult,
        sink: FakePlaySink | None = None,
    ) -> None:
        self.clock = FakeClock(start_utc=START)
        self.player = FakePlayer(self.clock.monotonic)
        self.sink = sink or FakePlaySink()
        self.programme = Programme(Catalog(tuple(ads)), PolicySettings(), ZoneInfo("UTC"), random.Random(5))
        self.heartbeat = HeartbeatObserver(
            self.sink, screen_id="s1", store_id="st", camera_online=lambda: True,
            rules_status=lambda: (True, ""), now_utc=self.clock.now_utc, monotonic=self.clock.monotonic,
        )  # fmt: skip
        self.loop = SlotLoop(
            LoopConfig(screen_id="s1", lead_s=1.0, standby_slot_s=4.0, screenshots=Path("/shots")),
            self.player, self.sink, audience, self.programme.decide, self.clock, [self.heartbeat],
        )  # fmt: skip

    def run_for(self, seconds: float, tick: float = 0.1) -> None:
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            self.loop.step()
            self.clock.advance(tick)


def test_plays_are_recorded_start_to_end(tmp_path: Path) -> None:
    rig = Rig([make_ad(tmp_path, "a"), make_ad(tmp_path, "b")])
    rig.run_for(17.5)
    completed = [p for p in rig.sink.plays.values() if p.outcome is PlayOutcome.COMPLETED]
    assert len(completed) == 3
    for play in completed:
        assert play.actual_s == pytest.approx(5.0)
        assert play.ended_at is not None and play.ended_at > play.started_at
        assert play.screen_id == "s1" and play.rule == "house-rotation"
        assert play.audience_known and play.present_at_start == 1
    # rotation alternates the two ads
    shown = rig.player.shown
    assert all(x != y for x, y in itertools.pairwise(shown))


def test_next_ad_is_prepared_before_the_current_one_ends(tmp_path: Path) -> None:
    rig = Rig([make_ad(tmp_path, "a"), make_ad(tmp_path, "b")])
    rig.run_for(4.5)  # first ad ends at 5.0, lead is 1.0
    assert len(rig.player.prepared) == 1
    assert rig.player.shown == ["a"] or rig.player.shown == ["b"]
    rig.run_for(1.0)
    assert rig.player.shown[1] == rig.player.prepared[0]


def test_corrupt_ad_is_skipped_once_and_playback_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig([make_ad(tmp_path, "broken", exists=False), make_ad(tmp_path, "good")])
    rig.run_for(30)
    skipped = [p for p in rig.sink.plays.values() if p.outcome is PlayOutcome.SKIPPED]
    assert [p.ad_id for p in skipped] == ["broken"] or not skipped  # depends on the first draw
    assert sum(1 for r in caplog.records if "skipped" in r.getMessage()) == len(skipped)
    assert rig.player.shown.count("broken") <= 1
    assert rig.player.shown.count("good") >= 5
    if skipped:
        assert "does not exist" in skipped[0].reason


def test_empty_catalog_shows_standby_and_records_no_play(tmp_path: Path) -> None:
    rig = Rig([])
    rig.run_for(10)
    assert set(rig.player.shown) == {"standby"} and len(rig.player.shown) == 3
    assert rig.sink.plays == {}


def test_restricted_ad_waits_while_the_audience_is_unknown(tmp_path: Path) -> None:
    state = {"camera": False}

    def audience() -> AudienceSnapshot:
        return adult() if state["camera"] else AudienceSnapshot.unknown()

    rig = Rig([make_ad(tmp_path, "beer", restricted=True), make_ad(tmp_path, "soda")], audience)
    rig.run_for(30)  # camera offline: audience unknown, a minor cannot be ruled out
    assert "beer" not in rig.player.shown and rig.player.shown.count("soda") >= 5
    state["camera"] = True  # camera comes back with an adult in front
    rig.run_for(30)
    assert "beer" in rig.player.shown
    unknown = [p for p in rig.sink.plays.values() if not p.audience_known]
    assert unknown and all(p.ad_id == "soda" for p in unknown)


def test_shutdown_closes_the_open_play_as_interrupted(tmp_path: Path) -> None:
    rig = Rig([make_ad(tmp_path, "a")])
    rig.run_for(2.0)
    rig.loop.interrupt("player stopped")
    (play,) = rig.sink.plays.values()
    assert play.outcome is PlayOutcome.INTERRUPTED and play.actual_s == pytest.approx(2.0)
    assert play.reason == "player stopped" and rig.sink.open_plays() == []


def test_run_returns_when_stop_is_set_and_history_survives_restarts(tmp_path: Path) -> None:
    sink = FakePlaySink()
    rig = Rig([make_ad(tmp_path, "a"), make_ad(tmp_path, "b")], sink=sink)
    rig.run_for(12)
    stop = threading.Event()
    stop.set()
    second = Rig([make_ad(tmp_path, "a"), make_ad(tmp_path, "b")], sink=sink)
    second.loop.run(stop)
    assert [r.ad_id for r in second.loop.history] == [
        p.ad_id for p in sorted(sink.plays.values(), key=lambda p: p.started_at)
        if p.outcome is not PlayOutcome.SKIPPED
    ]  # fmt: skip
    assert len(second.loop.history) == 3  # two completed, one still open when the first loop stopped


def test_one_screenshot_per_play_and_heartbeats(tmp_path: Path) -> None:
    rig = Rig([make_ad(tmp_path, "a"), make_ad(tmp_path, "b")])
    rig.run_for(15.5)
    assert [p.name for p in rig.player.screenshots] == ["00001-a.png", "00002-b.png", "00003-a.png"] or len(
        rig.player.screenshots
    ) == 3
    assert {h.playing_ad_id for h in rig.sink.heartbeats} >= {"a", "b"}


def test_closing_the_window_stops_the_loop(tmp_path: Path) -> None:
    rig = Rig([make_ad(tmp_path, "a")])
    rig.player.quit_requested = True
    stop = threading.Event()
    rig.loop.run(stop)  # returns by itself
    assert stop.is_set()
    (play,) = rig.sink.plays.values()
    assert play.outcome is PlayOutcome.INTERRUPTED


def test_a_catalog_reload_gives_failed_ads_a_new_chance(tmp_path: Path) -> None:
    version = {"n": 0}
    broken = make_ad(tmp_path, "broken", exists=False)
    rig = Rig([broken, make_ad(tmp_path, "good")])
    rig.loop.catalog_version = lambda: version["n"]
    rig.run_for(30)
    assert rig.loop.unplayable == {"broken"} or rig.player.shown.count("broken") == 0
    broken.media.write_bytes(b"fixed")  # the operator replaced the file and the catalog reloaded
    version["n"] = 1
    rig.run_for(30)
    assert "broken" not in rig.loop.unplayable
    assert rig.player.shown.count("broken") >= 1


def test_a_failing_step_shows_standby_is_reported_once_and_the_loop_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig([make_ad(tmp_path, "a")])
    calls = itertools.count()
    decide = rig.loop.decider

    def flaky(*args):  # type: ignore[no-untyped-def]
        if next(calls) < 3:
            raise RuntimeError("rule engine bug")
        return decide(*args)

    rig.loop.decider = flaky
    ticking = rig.clock.monotonic

    def advancing() -> float:  # every look at the clock moves it on: slots end without sleeping
        rig.clock.advance(0.05)
        return ticking()

    rig.clock.monotonic = advancing  # type: ignore[method-assign]
    rig.player = FakePlayer(advancing)
    rig.loop.player = rig.player
    stop = threading.Event()
    runner = threading.Thread(target=rig.loop.run, args=(stop,))
    runner.start()
    try:
        deadline = 200
        while not [p for p in rig.sink.plays.values() if p.ad_id == "a"] and deadline:
            stop.wait(0.01)
            deadline -= 1
    finally:
        stop.set()
        runner.join(5)
    assert not runner.is_alive()
    assert any(p.ad_id == "a" for p in rig.sink.plays.values())  # it recovered without a restart
    failures = [r for r in caplog.records if "slot loop failed" in r.getMessage()]
    assert len(failures) == 1 and "rule engine bug" in failures[0].getMessage()
    assert any("works again" in r.getMessage() for r in caplog.records)


def test_a_skipped_ad_is_logged_once_per_reason_until_it_plays_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = {"n": 0}
    broken = make_ad(tmp_path, "broken", exists=False)
    rig = Rig([broken])
    rig.loop.catalog_version = lambda: version["n"]

    def skip_reports() -> list[str]:
        return [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]

    rig.run_for(10)
    assert len(skip_reports()) == 1 and "broken" in skip_reports()[0]
    version["n"] += 1  # an unrelated catalog edit: the ad gets a new chance and fails the same way
    rig.run_for(10)
    assert rig.player.shown.count("standby") >= 2
    assert len(skip_reports()) == 1
    skipped = [p for p in rig.sink.plays.values() if p.outcome is PlayOutcome.SKIPPED]
    assert len(skipped) == 2  # each skip is still recorded as a play
    broken.media.write_bytes(b"fixed")
    version["n"] += 1
    rig.run_for(10)
    assert rig.player.shown.count("broken") >= 1
    broken.media.unlink()  # broken again after it played: news again
    version["n"] += 1
    rig.run_for(10)
    assert len(skip_reports()) == 2
