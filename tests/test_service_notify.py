"""The sd_notify protocol on a real datagram socket, and the watchdog seen from systemd's side."""

from __future__ import annotations

import logging
import os
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage.clock import FakeClock
from signage.domain import Ad, AudienceSnapshot, Catalog, MediaKind, Play
from signage.loop import LoopConfig, SlotLoop
from signage.playback.fake import FakePlayer
from signage.service.notify import (
    FakeNotifier,
    SdNotifier,
    notifier_from_env,
    notify_stopping,
    watchdog_period_s,
)
from signage.service.observer import SystemdObserver, systemd_observers
from signage.settings import PolicySettings
from signage.store.fake import FakePlaySink
from signage.targeting.programme import Programme
from signage.testing.fake_systemd import NotifySocket, Supervisor

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
UNKNOWN = AudienceSnapshot.unknown(0.0)


def play(ad_id: str = "a") -> Play:
    return Play(str(uuid.uuid4()), "s1", ad_id, "adv", "camp", START, None, 5.0, 0.0, None)


def test_datagrams_reach_a_path_socket_and_an_abstract_one(tmp_path: Path) -> None:
    for address in (str(tmp_path / "notify.sock"), f"@signage-test-{uuid.uuid4().hex}"):
        server = NotifySocket(address)
        try:
            notifier = SdNotifier(address)
            assert notifier.notify("READY=1\nSTATUS=playing")
            assert server.receive(1.0) == ["READY=1\nSTATUS=playing"]
            notifier.close()
        finally:
            server.close()


def test_a_vanished_socket_is_reported_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SdNotifier(str(tmp_path / "gone.sock"))
    with caplog.at_level(logging.WARNING):
        assert not notifier.notify("WATCHDOG=1")
        assert not notifier.notify("WATCHDOG=1")
    notifier.close()
    assert sum("cannot notify systemd" in r.message for r in caplog.records) == 1


def test_the_environment_says_whether_and_how_often_to_ping(tmp_path: Path) -> None:
    assert notifier_from_env({}) is None
    assert notifier_from_env({"NOTIFY_SOCKET": "relative.sock"}) is None  # systemd never sends one
    assert watchdog_period_s({}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}, pid=7) == 30.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 30.0
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, pid=7) is None  # not ours
    assert watchdog_period_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "soon"}) is None
    assert systemd_observers(lambda: True, lambda: 0.0, environ={}) == ()


def test_stopping_is_sent_where_systemd_listens(tmp_path: Path) -> None:
    server = NotifySocket.at(tmp_path)
    try:
        notify_stopping({"NOTIFY_SOCKET": server.address})
        assert server.receive(1.0) == ["STOPPING=1"]
        notify_stopping({})  # not under systemd: nothing to do, nothing raised
    finally:
        server.close()


def test_ready_once_status_on_transitions_pings_at_most_every_half_period() -> None:
    clock, notifier = FakeClock(start_utc=START), FakeNotifier()
    online = [True]
    observer = SystemdObserver(notifier, clock.monotonic, 10.0, lambda: online[0])
    known = AudienceSnapshot(at_mono=0.0, known=True, tracks=())
    observer.play_started(play(), known)
    for _ in range(40):  # 20 s of samples every 0.5 s
        clock.advance(0.5)
        observer.audience_sample(known)
    online[0] = False
    observer.audience_sample(UNKNOWN)
    observer.play_ended(play(), UNKNOWN)
    observer.play_started(play("standby"), UNKNOWN)
    assert notifier.count("READY=1") == 1 and notifier.messages[0] == "READY=1"
    statuses = [m for m in notifier.messages if m.startswith("STATUS=")]
    assert statuses == ["STATUS=playing, camera online", "STATUS=playing, camera offline",
                        "STATUS=standby slide, camera offline"]  # fmt: skip
    assert notifier.count("WATCHDOG=1") == 5  # at 0, 5, 10, 15, 20 s: every 5 s, never more often


def test_no_watchdog_no_pings() -> None:
    notifier = FakeNotifier()
    observer = SystemdObserver(notifier, FakeClock().monotonic, None, lambda: None)
    observer.play_started(play(), UNKNOWN)
    observer.audience_sample(UNKNOWN)
    assert notifier.messages == ["READY=1", "STATUS=playing, no camera"]


def test_supervisor_rules() -> None:
    supervisor = Supervisor(watchdog_s=30, start_timeout_s=120, started_mono=0.0)
    assert supervisor.verdict(119.0) is None
    assert supervisor.verdict(121.0) == "start timed out"
    supervisor.receive("READY=1", 5.0)
    assert supervisor.verdict(34.0) is None and supervisor.verdict(36.0) == "watchdog timeout"
    supervisor.receive("WATCHDOG=1", 30.0)
    assert supervisor.verdict(59.0) is None and supervisor.verdict(61.0) == "watchdog timeout"
    supervisor.receive("STOPPING=1", 61.0)
    assert supervisor.verdict(500.0) is None


def test_watchdog_kills_and_restarts_a_loop_that_stops_notifying(tmp_path: Path) -> None:
    """The whole loop on fakes sends real datagrams; systemd's decision is taken on the same fake clock."""
    clock, watchdog_s, tick = FakeClock(start_utc=START), 30.0, 0.1
    media = tmp_path / "a.mp4"
    media.write_bytes(b"x")
    ads = (
        Ad("a", media, MediaKind.VIDEO, 5.0, "adv", "camp"),
        Ad("b", media, MediaKind.VIDEO, 7.0, "adv", "camp-b"),
    )
    server = NotifySocket.at(tmp_path)
    notifier = SdNotifier(server.address)
    observer = SystemdObserver(notifier, clock.monotonic, watchdog_s, lambda: True)
    loop = SlotLoop(
        LoopConfig(screen_id="s1"), FakePlayer(clock.monotonic), FakePlaySink(), lambda: UNKNOWN,
        Programme(Catalog(ads), PolicySettings(), ZoneInfo("UTC"), random.Random(1)).decide, clock, [observer],
    )  # fmt: skip
    supervisor = Supervisor(watchdog_s=watchdog_s, start_timeout_s=120.0, started_mono=clock.monotonic())

    def deliver() -> None:
        for message in server.receive():
            supervisor.receive(message, clock.monotonic())

    try:
        # Two minutes of a healthy loop: several plays, and systemd never decides to restart.
        for _ in range(int(120 / tick)):
            loop.step()
            deliver()
            assert supervisor.verdict(clock.monotonic()) is None
            clock.advance(tick)
        assert supervisor.ready_mono is not None and loop.plays_started > 10
        assert supervisor.pings >= 120 / watchdog_s
        # The loop freezes (a VLC call that never returns): time passes, the loop no longer steps.
        frozen_at, last_ping = clock.monotonic(), supervisor.last_ping_mono
        assert last_ping is not None and frozen_at - last_ping <= watchdog_s / 2 + tick
        verdict = None
        while verdict is None:
            clock.advance(tick)
            deliver()
            verdict = supervisor.verdict(clock.monotonic())
        assert verdict == "watchdog timeout"
        assert supervisor.last_ping_mono == last_ping  # nothing came after the freeze
        # Decided WatchdogSec after the last ping, i.e. at most WatchdogSec after the freeze.
        assert watchdog_s / 2 - tick <= clock.monotonic() - frozen_at <= watchdog_s + tick
    finally:
        notifier.close()
        server.close()


def test_the_observer_is_built_from_systemds_environment(tmp_path: Path) -> None:
    server = NotifySocket.at(tmp_path)
    try:
        env = {"NOTIFY_SOCKET": server.address, "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
        (observer,) = systemd_observers(lambda: None, FakeClock().monotonic, environ=env)
        assert observer.ping_every_s == 2.0
        observer.play_started(play(), UNKNOWN)
        assert server.receive(1.0)[:3] == ["READY=1", "STATUS=playing, no camera", "WATCHDOG=1"]
        assert isinstance(observer.notifier, SdNotifier)
        observer.notifier.close()
    finally:
        server.close()
