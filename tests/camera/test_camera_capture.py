"""The capture stage on a scripted source: latest-frame buffer, dead and frozen sources, back-off."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from signage.camera.base import NoCamera
from signage.camera.capture import Backoff, CameraStage
from signage.camera.fake import (
    Deliver,
    Die,
    FakeClock,
    FakeFrameSource,
    Hold,
    RefuseOpen,
    Repeat,
    image_number,
)
from signage.settings import CameraSettings
from signage.testing.waiting import wait_until

SETTINGS = CameraSettings(frozen_after_s=5.0, reconnect_initial_s=0.5, reconnect_max_s=4.0)


class Harness:
    """A stage on a fake clock whose back-off waits are recorded and take no real time."""

    def __init__(self, source: FakeFrameSource, clock: FakeClock, settings: CameraSettings = SETTINGS):
        self.source = source
        self.clock = clock
        self.stop = threading.Event()
        self.waits: list[float] = []
        self.stage = CameraStage(source, settings, self.stop, clock=clock, wait=self._wait)

    def _wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        return self.stop.is_set()

    def shutdown(self) -> None:
        self.stop.set()
        self.source.release()
        assert self.stage.join(timeout=5)


@pytest.fixture
def harness_factory() -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(script: list, settings: CameraSettings = SETTINGS, gated: bool = False) -> Harness:
        clock = FakeClock()
        harness = Harness(FakeFrameSource(script, clock, gated=gated), clock, settings)
        made.append(harness)
        harness.stage.start()
        return harness

    yield make
    for harness in made:
        harness.shutdown()


def transitions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        "offline" if " offline" in r.getMessage() else "online"
        for r in caplog.records
        if r.name == "signage.camera.capture"
        and (" offline" in r.getMessage() or " online" in r.getMessage())
        and r.levelno >= logging.INFO
    ]


def test_backoff_doubles_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.5, 4.0)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_frames_nobody_took_are_counted_as_dropped(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory([Deliver(10)], gated=True)
    h.source.allow(1)
    wait_until(lambda: h.stage.status().frames_read == 1)
    first = h.stage.latest()
    assert first is not None and first.seq == 1 and image_number(first.image) == 0
    h.source.allow(3)  # three frames land before anyone looks: two are overwritten unseen
    wait_until(lambda: h.stage.status().frames_read == 4)
    latest = h.stage.latest()
    assert latest is not None and latest.seq == 4 and image_number(latest.image) == 3
    assert h.stage.status().frames_dropped == 2
    h.source.allow(1)
    wait_until(lambda: h.stage.status().frames_read == 5)
    assert h.stage.status().frames_dropped == 2  # frame 4 was taken before frame 5 replaced it


def test_take_new_returns_only_frames_after_the_given_seq(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory([Deliver(5)], gated=True)
    assert h.stage.take_new(0, timeout_s=0.05) is None  # nothing read yet
    h.source.allow(1)
    frame = h.stage.take_new(0, timeout_s=2)
    assert frame is not None and frame.seq == 1
    assert h.stage.take_new(frame.seq, timeout_s=0.05) is None  # no newer frame yet
    h.source.allow(1)
    newer = h.stage.take_new(frame.seq, timeout_s=2)
    assert newer is not None and newer.seq == 2
    assert newer.captured_mono > frame.captured_mono  # stamped on the stage's clock


def test_a_source_that_dies_and_comes_back_is_reported_once_each_way(
    harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="signage.camera")
    h = harness_factory([Deliver(10), Die(), RefuseOpen(3), Deliver(10)])
    assert h.source.exhausted.wait(5)
    status = h.stage.status()
    assert status.online and status.frames_read == 20
    assert status.fps == pytest.approx(30, rel=0.01)  # one frame per 1/30 s on the fake clock
    assert status.reconnects == 4  # three refused re-opens, then one that worked
    assert h.waits == [0.5, 1.0, 2.0, 4.0]  # doubling, capped at reconnect_max_s
    assert h.source.opens == 5
    assert transitions(caplog) == ["online", "offline", "online"]
    latest = h.stage.latest()
    assert latest is not None and latest.seq == 20  # seq keeps counting across the reconnect


def test_latest_is_none_while_the_source_is_offline(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory([Deliver(2), Die(), RefuseOpen(1000)])
    wait_until(lambda: h.stage.status().reconnects >= 3)
    status = h.stage.status()
    assert not status.online and "refused" in status.reason
    assert h.stage.latest() is None
    assert h.waits[-1] == SETTINGS.reconnect_max_s


def test_a_camera_that_repeats_one_picture_is_frozen(
    harness_factory: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    # 30 fps on the fake clock: 200 identical frames are 6.7 s without a new picture (limit 5 s).
    h = harness_factory([Deliver(5), Repeat(200), Deliver(5)])
    assert h.source.exhausted.wait(5)
    status = h.stage.status()
    assert status.online and status.reconnects == 1 and h.source.opens == 2
    assert transitions(caplog) == ["online", "offline", "online"]
    offline = [r.getMessage() for r in caplog.records if " offline" in r.getMessage()]
    assert "frozen" in offline[0]


def test_a_read_that_blocks_is_noticed_by_the_watchdog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    settings = CameraSettings(frozen_after_s=0.2, reconnect_initial_s=0.01, reconnect_max_s=0.05)
    clock = FakeClock()
    source = FakeFrameSource([Deliver(3), Hold(), Deliver(3)])
    stop = threading.Event()
    stage = CameraStage(source, settings, stop, clock=clock)
    stage.start()
    try:
        assert source.holding.wait(5)
        assert stage.status().frames_read == 3 and stage.status().online
        clock.advance(0.3)  # past frozen_after_s with read() still blocked
        wait_until(lambda: not stage.status().online)
        assert "frozen" in stage.status().reason
        assert source.opens == 1  # still stuck inside read(): the watchdog only reports
        source.resume()
        assert source.exhausted.wait(5)
        assert stage.status().online and source.opens == 2
    finally:
        stop.set()
        source.release()
        assert stage.join(timeout=5)
    assert transitions(caplog) == ["online", "offline", "online"]


def test_no_camera_stays_idle_and_offline() -> None:
    stop = threading.Event()
    stage = CameraStage(NoCamera(), SETTINGS, stop)
    stage.start()
    status = stage.status()
    assert not status.online and "none" in status.reason
    assert stage.latest() is None
    stop.set()
    assert stage.join(timeout=1)


def test_stop_ends_the_threads_during_back_off() -> None:
    settings = CameraSettings(reconnect_initial_s=30, reconnect_max_s=30)
    source = FakeFrameSource([RefuseOpen(1000)])
    stop = threading.Event()
    stage = CameraStage(source, settings, stop)
    stage.start()
    wait_until(lambda: source.opens >= 1)
    stop.set()
    assert stage.join(timeout=2)  # a 30 s back-off does not delay shutdown
