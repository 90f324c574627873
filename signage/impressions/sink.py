"""Where finished impressions go: a SQL writer thread, and an in-memory fake for tests."""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from signage.impressions.metrics import Impression
from signage.impressions.tables import IMPRESSION, IMPRESSION_TRACK, impression_rows
from signage.store.writer import upsert

log = logging.getLogger(__name__)


class ImpressionSink(Protocol):
    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        """Queue one finished impression (same play_id as its play); never raises on bad data."""

    def flush(self) -> None:
        """Block until everything queued so far is committed."""

    def close(self) -> None: ...


def write_impression(
    engine: sa.Engine, impression: Impression, screen_id: str, recorded_at: datetime
) -> None:
    """Store one impression and its track rows; writing the same one twice changes nothing."""
    row, tracks = impression_rows(impression, screen_id, recorded_at)
    with engine.begin() as conn:
        # Upserts leave sync_seq to the triggers, so a rewritten row is shipped again by the sync.
        upsert(conn, IMPRESSION, [row.model_dump(exclude={"sync_seq"})])
        upsert(conn, IMPRESSION_TRACK, [t.model_dump(exclude={"sync_seq"}) for t in tracks])


class SqlImpressionSink:
    """Writes impressions on its own thread so the display loop never waits on the database."""

    def __init__(
        self, engine: sa.Engine, retry_delays_s: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 30)
    ) -> None:
        self._engine = engine
        self._retry_delays_s = retry_delays_s
        self._closing = threading.Event()
        self._queue: queue.Queue[tuple[Impression, str, datetime] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="impression-writer", daemon=True)
        self._thread.start()
        self.failed = 0
        self._unavailable = False

    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        self._queue.put((impression, screen_id, recorded_at))

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        """Write what is queued (cutting retry waits short) and stop the thread."""
        if self._thread.is_alive():
            self._closing.set()
            self._queue.put(None)
            self._thread.join()

    def _write(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        """Write one impression, retrying while the database is away or not yet migrated."""
        for attempt, delay in enumerate((*self._retry_delays_s, None)):
            try:
                write_impression(self._engine, impression, screen_id, recorded_at)
                if self._unavailable:
                    self._unavailable = False
                    log.info("impression store is writable again")
                return
            except sa.exc.IntegrityError:
                raise  # retrying a refused row changes nothing
            except sa.exc.OperationalError as exc:
                # Locked, unreachable, or the store's writer has not run the migrations yet.
                if delay is None or self._closing.is_set():
                    raise
                if not self._unavailable:
                    self._unavailable = True
                    log.warning(
                        "impression store unavailable (attempt %d), retrying: %s",
                        attempt + 1,
                        str(exc.orig).splitlines()[0] if exc.orig else exc,
                    )
                self._closing.wait(delay)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                impression, screen_id, recorded_at = item
                try:
                    self._write(impression, screen_id, recorded_at)
                except (ValueError, sa.exc.SQLAlchemyError) as exc:
                    # One bad impression must not stop the others (nor playback): log and go on.
                    self.failed += 1
                    log.error("impression of play %s not stored: %s", impression.play_id, exc)
            finally:
                self._queue.task_done()


class MemoryImpressionSink:
    """The fake beside SqlImpressionSink: keeps what it was given, in order."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Impression, str, datetime]] = []

    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        self.recorded.append((impression, screen_id, recorded_at))

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
