"""Pace a source to a frame rate without bursting after a stall."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Spaces successive ``wait_next`` returns 1/fps apart on ``clock``.

    A consumer that fell behind by more than ``max_lag_s`` restarts the schedule instead of
    receiving a burst of catch-up frames: a file should look like a live camera, not fast-forward.
    """

    def __init__(
        self,
        fps: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_lag_s: float = 0.1,
    ) -> None:
        if not fps > 0:
            raise ValueError(f"frame rate must be positive, got {fps!r}")
        self.period_s = 1.0 / fps
        self._clock = clock
        self._sleep = sleep
        self._max_lag_s = max_lag_s
        self._next: float | None = None

    def reset(self) -> None:
        self._next = None

    def wait_next(self) -> None:
        now = self._clock()
        if self._next is None:
            self._next = now
        else:
            delay = self._next - now
            if delay > 0:
                self._sleep(delay)
            elif -delay > self._max_lag_s:
                self._next = now
        self._next += self.period_s
