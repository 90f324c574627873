"""An in-memory PlaySink/HeartbeatSink for fast tests of the loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from signage.domain import Play, PlayRecord
from signage.store.base import Heartbeat
from signage.store.models import play_values, record_of

log = logging.getLogger(__name__)


class FakePlaySink:
    """Keeps every play by id (latest version) and every heartbeat, in order, in memory.

    It stands in for ``StoreWriter``: a play the real store refuses (a bad play id) is reported,
    counted in ``rejected`` and dropped, never raised, and with a ``screen_id`` the history
    (``recent_plays``) holds only that screen's plays.
    """

    def __init__(self, screen_id: str | None = None) -> None:
        self._lock = threading.Lock()
        self._screen_id = screen_id
        self.rejected = 0  # plays refused like the real store refuses them
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
        try:
            play_values(play)  # the real store's check
        except ValueError as exc:
            with self._lock:
                self.rejected += 1
            log.error("proof of play not recorded: %s", exc)
            return
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
                (
                    record_of(p)
                    for p in self.plays.values()
                    if p.started_at >= since and self._screen_id in (None, p.screen_id)
                ),
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
