"""The clock edge: what every loop reads time through, the system's clock, and one fake for tests.

``monotonic()`` is for durations inside one process; ``now_utc()`` is a timezone-aware UTC wall time
for the database. A ``FakeClock`` is also a plain ``Callable[[], float]`` (its monotonic time), for
the stages that take only a monotonic function.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

FAKE_START_UTC = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now_utc(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now_utc(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to (thread-safe); its wall time moves with its monotonic time."""

    def __init__(self, start: float = 1000.0, start_utc: datetime = FAKE_START_UTC) -> None:
        self._start = start
        self._now = start
        self._start_utc = start_utc
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def __call__(self) -> float:
        return self.monotonic()

    def now_utc(self) -> datetime:
        with self._lock:
            return self._start_utc + timedelta(seconds=self._now - self._start)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
