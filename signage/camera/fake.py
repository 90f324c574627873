"""A scripted frame source, for fast tests of everything that reads a camera (the clock: signage.clock)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from signage.camera.base import RGBImage, SourceError
from signage.clock import FakeClock


@dataclass(frozen=True)
class Deliver:
    """``count`` distinct frames."""

    count: int


@dataclass(frozen=True)
class Repeat:
    """``count`` copies of the last frame: a camera that froze but keeps answering."""

    count: int


@dataclass(frozen=True)
class Hold:
    """``read`` blocks (``holding`` is set) until ``resume()``, then delivers a new frame: a hung read."""


@dataclass(frozen=True)
class Die:
    """``read`` returns None once: the device vanished or the stream ended."""


@dataclass(frozen=True)
class RefuseOpen:
    """The next ``times`` calls to ``open`` raise SourceError."""

    times: int = 1


Step = Deliver | Repeat | Hold | Die | RefuseOpen


def numbered_image(n: int, width: int = 32, height: int = 24) -> RGBImage:
    """A tiny image whose pixels encode ``n`` so a test can tell frames apart."""
    image = np.zeros((height, width, 3), np.uint8)
    image[..., 0] = n % 256
    image[..., 1] = (n // 256) % 256
    image[..., 2] = 7
    return image


def image_number(image: RGBImage) -> int:
    return int(image[0, 0, 0]) + 256 * int(image[0, 0, 1])


class FakeFrameSource:
    """Plays a script of steps; each ``read`` advances ``clock`` by ``frame_interval_s``.

    When the script is used up, ``exhausted`` is set and ``read`` blocks (polling every 10 ms)
    until ``release()``, then returns None: a test inspects a settled stage, then stops it.
    With ``gated=True`` each ``read`` first waits for a permit from ``allow(n)``, so a test can
    interleave reads with its own calls one frame at a time.
    """

    def __init__(
        self,
        script: Iterable[Step],
        clock: FakeClock | None = None,
        frame_interval_s: float = 1 / 30,
        name: str = "fake",
        gated: bool = False,
    ) -> None:
        self._steps = list(script)
        self._clock = clock
        self._interval = frame_interval_s
        self._name = name
        self._pending_repeats = 0
        self._pending_delivers = 0
        self._refusals = 0
        self._next_number = 0
        self._last: RGBImage | None = None
        self.is_open = False
        self.opens = 0
        self.closes = 0
        self.reads = 0
        self.exhausted = threading.Event()
        self.holding = threading.Event()  # a ``Hold`` step is blocking ``read``
        self._released = threading.Event()
        self._resumed = threading.Event()
        self._lock = threading.Lock()
        self._gate = threading.Semaphore(0) if gated else None

    @property
    def name(self) -> str:
        return self._name

    def release(self) -> None:
        self._released.set()

    def resume(self) -> None:
        """End the current (or the next) ``Hold``: its ``read`` returns a new frame."""
        self._resumed.set()

    def allow(self, reads: int = 1) -> None:
        if self._gate is not None:
            self._gate.release(reads)

    def _pop_refusals(self) -> None:
        while self._steps and isinstance(self._steps[0], RefuseOpen):
            step = self._steps.pop(0)
            assert isinstance(step, RefuseOpen)
            self._refusals += step.times

    def open(self) -> None:
        with self._lock:
            self.opens += 1
            self._pop_refusals()
            if self._refusals > 0:
                self._refusals -= 1
                raise SourceError(f"{self._name} refused to open")
            self.is_open = True

    def close(self) -> None:
        with self._lock:
            self.closes += 1
            self.is_open = False

    def _new_frame(self) -> RGBImage:
        self._last = numbered_image(self._next_number)
        self._next_number += 1
        return self._last

    def read(self) -> RGBImage | None:
        if self._gate is not None:
            while not self._gate.acquire(timeout=0.01):
                if self._released.is_set():
                    return None
        with self._lock:
            self.reads += 1
            if not self.is_open:
                return None
            if self._clock is not None:
                self._clock.advance(self._interval)
            if self._pending_delivers:
                self._pending_delivers -= 1
                return self._new_frame()
            if self._pending_repeats:
                self._pending_repeats -= 1
                return self._last.copy() if self._last is not None else self._new_frame()
            self._pop_refusals()
            step = self._steps.pop(0) if self._steps else None
        if step is None:
            self.exhausted.set()
            while not self._released.wait(0.01):
                pass
            return None
        if isinstance(step, Hold):
            self.holding.set()
            while not self._resumed.wait(0.01):
                if self._released.is_set():
                    return None
            self._resumed.clear()
            self.holding.clear()
            with self._lock:
                return self._new_frame()
        with self._lock:
            if isinstance(step, Die):
                return None
            if isinstance(step, Deliver):
                self._pending_delivers = step.count - 1
                return self._new_frame() if step.count > 0 else None
            assert isinstance(step, Repeat)
            self._pending_repeats = step.count - 1
            return self._last.copy() if self._last is not None else self._new_frame()
