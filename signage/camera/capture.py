"""The capture stage: one thread reads the source into a one-slot buffer; a watchdog reconnects.

Latest frame wins (Frigate ``capture_frames``): a slow consumer never makes frames queue up; the
frames it missed are counted as dropped. Offline/online transitions are logged once each;
individual retries only at DEBUG.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from signage.camera.base import CameraFrame, CameraStatus, FrameSource, NoCamera, RGBImage, SourceError
from signage.camera.covered import CoverWatch
from signage.settings import CameraSettings

log = logging.getLogger(__name__)


class Backoff:
    """Exponential delays: initial, doubled per failure, capped; ``reset`` after a success."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._initial = min(initial_s, max_s)
        self._max = max_s
        self._current = self._initial

    def next_delay(self) -> float:
        delay = self._current
        self._current = min(self._current * 2, self._max)
        return delay

    def reset(self) -> None:
        self._current = self._initial


def _signature(image: RGBImage) -> bytes:
    # A sparse sample is enough to tell a repeated (frozen) frame from a live one, at ~no cost.
    return np.ascontiguousarray(image[::16, ::16]).tobytes()


class CameraStage:
    """Owns a FrameSource on its own thread; consumers call ``latest`` or ``take_new``.

    ``wait(seconds) -> stopping`` is how the stage sleeps between reconnects; it defaults to
    ``stop.wait`` and tests pass one that advances a fake clock instead.
    """

    def __init__(
        self,
        source: FrameSource,
        settings: CameraSettings,
        stop: threading.Event,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._source = source
        self._settings = settings
        self._stop = stop
        self._clock = clock
        self._wait = wait or stop.wait
        self._cond = threading.Condition()
        self._frame: CameraFrame | None = None
        self._taken = True
        self._seq = 0
        self._frames_read = 0
        self._frames_dropped = 0
        self._reconnects = 0
        self._online = False
        self._offline_announced = False
        self._reason = "not started yet"
        self._is_open = False
        self._last_new_mono: float | None = None
        self._last_signature: bytes | None = None
        self._reconnect_requested = False
        self._fps = 0.0
        self._recent: deque[float] = deque(maxlen=60)  # times of recent new frames, for fps
        self._cover = CoverWatch()  # a dark or uniform picture for a while: the lens is covered
        self._threads: list[threading.Thread] = []

    # -- consumer side ------------------------------------------------------------------------

    def latest(self) -> CameraFrame | None:
        """The newest frame, or None while the camera is offline."""
        with self._cond:
            if not self._online or self._frame is None:
                return None
            self._taken = True
            return self._frame

    def take_new(self, after_seq: int, timeout_s: float = 0.0) -> CameraFrame | None:
        """The newest frame if its seq is above ``after_seq``, waiting up to ``timeout_s`` for one."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                frame = self._frame
                if self._online and frame is not None and frame.seq > after_seq:
                    self._taken = True
                    return frame
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return None
                self._cond.wait(min(remaining, 0.1))

    def status(self) -> CameraStatus:
        with self._cond:
            return CameraStatus(
                source=self._source.name,
                online=self._online,
                frames_read=self._frames_read,
                frames_dropped=self._frames_dropped,
                reconnects=self._reconnects,
                reason="" if self._online else self._reason,
                fps=self._fps if self._online else 0.0,
            )

    @property
    def covered(self) -> bool:
        """True while the picture has stayed dark or uniform (lens covered); False while offline."""
        with self._cond:
            online = self._online
        return online and self._cover.covered

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if isinstance(self._source, NoCamera):
            with self._cond:
                self._reason = "the camera is switched off in the settings (camera.source: none)"
            log.info("camera: none configured; the audience stays unknown")
            return
        with self._cond:
            self._reason = "opening the source"
        log.info("camera: starting %s", self._source.name)
        for target, name in ((self._read_loop, "camera-capture"), (self._watch_loop, "camera-watchdog")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads after ``stop`` is set; True when they all ended in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        with self._cond:
            self._cond.notify_all()
        return not any(t.is_alive() for t in self._threads)

    # -- transitions --------------------------------------------------------------------------

    def _go_offline(self, reason: str) -> None:
        with self._cond:
            self._reason = reason
            self._frame = None
            self._fps = 0.0
            announce = self._online or not self._offline_announced
            self._online = False
            self._offline_announced = True
        self._cover.reset()
        if announce:
            log.warning(
                "camera %s offline: %s; reconnecting with back-off up to %.0f s",
                self._source.name,
                reason,
                self._settings.reconnect_max_s,
            )
        else:
            log.debug("camera %s still offline: %s", self._source.name, reason)

    def _publish(self, image: RGBImage) -> bool:
        """Store ``image`` as the latest frame; True when it is the first frame of an online spell."""
        now = self._clock()
        signature = _signature(image)
        with self._cond:
            self._seq += 1
            self._frames_read += 1
            if not self._taken and self._frame is not None:
                self._frames_dropped += 1
            is_new = signature != self._last_signature
            if is_new:
                self._recent.append(now)
                span = self._recent[-1] - self._recent[0]
                self._fps = (len(self._recent) - 1) / span if span > 0 else 0.0
                self._last_new_mono = now
                self._last_signature = signature
            self._frame = CameraFrame(image=image, captured_mono=now, seq=self._seq)
            self._taken = False
            # A reopened source that still repeats the picture it froze on is not back yet.
            came_online = is_new and not self._online and not self._reconnect_requested
            if came_online:
                self._online = True
                self._offline_announced = False
                self._reason = ""
            online = self._online
            self._cond.notify_all()
        if came_online:
            self._cover.reset()  # each online spell is judged afresh
        if online and self._cover.due(now):  # only the reader thread feeds it
            self._cover.observe(image, now)
        if came_online:
            height, width = image.shape[:2]
            log.info("camera %s online (%dx%d)", self._source.name, width, height)
        return came_online

    def check_frozen(self) -> bool:
        """Ask for a reconnect when no new frame came for ``frozen_after_s``; True when it did now."""
        limit = self._settings.frozen_after_s
        with self._cond:
            if not self._is_open or self._reconnect_requested or self._last_new_mono is None:
                return False
            idle = self._clock() - self._last_new_mono
            if idle <= limit:
                return False
            self._reconnect_requested = True
        self._go_offline(f"frozen: no new frame for {idle:.1f} s (limit {limit:g} s)")
        return True

    # -- threads ------------------------------------------------------------------------------

    def _open(self) -> str | None:
        """Open the source; the failure reason, or None on success."""
        try:
            self._source.open()
        except SourceError as exc:
            return str(exc)
        except Exception as exc:  # a driver bug must not kill the capture thread
            return f"opening failed unexpectedly ({type(exc).__name__}: {exc})"
        with self._cond:
            self._is_open = True
            self._reconnect_requested = False
            self._last_new_mono = self._clock()  # the frozen timer starts at open
            self._recent.clear()
        return None

    def _close(self) -> None:
        with self._cond:
            self._is_open = False
        try:
            self._source.close()
        except Exception:
            log.debug("camera %s: close failed", self._source.name, exc_info=True)

    def _read_loop(self) -> None:
        backoff = Backoff(self._settings.reconnect_initial_s, self._settings.reconnect_max_s)
        first_open = True
        while not self._stop.wait(0):
            if not self._is_open:
                if not first_open:
                    with self._cond:
                        self._reconnects += 1
                first_open = False
                failure = self._open()
                if failure is not None:
                    self._go_offline(failure)
                    if self._wait(backoff.next_delay()):
                        break
                    continue
            try:
                image = self._source.read()
                failure = None if image is not None else "the source stopped delivering frames"
            except Exception as exc:
                image, failure = None, f"reading failed ({type(exc).__name__}: {exc})"
            if self._stop.is_set():
                break
            if image is not None and self._publish(image):
                backoff.reset()
            self.check_frozen()
            with self._cond:
                reconnect = self._reconnect_requested
            if failure is not None or reconnect:
                self._close()
                if failure is not None:
                    self._go_offline(failure)
                if self._wait(backoff.next_delay()):
                    break
        self._close()

    def _watch_loop(self) -> None:
        # The reader checks after every frame; this catches a read() that blocks outright.
        tick = min(0.25, self._settings.frozen_after_s / 4)
        while not self._stop.wait(tick):
            self.check_frozen()
