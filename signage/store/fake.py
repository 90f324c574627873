"""An in-memory PlaySink/HeartbeatSink for fast tests of the loop."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from signage.domain import Play, PlayRecord
from signage.store.base import Heartbeat
from signage.store.models import play_values, record_of


class FakePlaySink:
    """Keeps every play by id (latest version) and every heartbeat, in order, in memory.

    It checks plays the way the real store does (a bad play id is refused), so a loop test on the
    fake catches what production would reject.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.plays: dict[str, Play] = {}
        self.events: list[tuple[str, Play]] = []  # ("started" | "ended", play), in call order
        self.heartbeats: list[Heartbeat] = []
        self.flushes = 0
        self.closed = False

    def play_started(self, play: Play) -> None:
        self._record("started", play)

    def play_ended(self, play: Play) -> None:
        self._record("ended", play)

    def _record(self, event: str, play: Play) -> None:
        play_values(play)  # raises ValueError like the real store's check
        with self._lock:
            if self.closed:
                raise RuntimeError("play recorded after the store was closed")
            self.plays[play.play_id] = play
            self.events.append((event, play))

    def write_heartbeat(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self.heartbeats.append(heartbeat)

    def recent_plays(self, since: datetime) -> Sequence[PlayRecord]:
        with self._lock:
            return sorted(
                (record_of(p) for p in self.plays.values() if p.started_at >= since),
                key=lambda r: r.started_at,
            )

    def flush(self, timeout_s: float | None = None) -> bool:
        self.flushes += 1
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        self.closed = True

    def open_plays(self) -> list[Play]:
        with self._lock:
            return [p for p in self.plays.values() if p.ended_at is None]
