"""The one background writer for everything the player stores: plays, heartbeats, impressions, occupancy.

Playback never waits for the database. ``play_started``/``play_ended``/``write_heartbeat``/
``record`` turn their argument into a ``Record`` (the rows it needs, ``records.py``), append it to the journal on
disk (one ``write(2)``, see ``journal.py``) and put it in an in-memory buffer keyed by kind and
id, so a play's start and end arriving before the next commit become one row write. The writer
thread commits up to ``batch_max`` records per transaction as upserts, which makes a retried or
replayed batch harmless, and empties the journal whenever everything in it is committed.

Failures:
- the database is unreachable, locked or full: reported once in one sentence, records stay in the
  buffer (and the journal) and the batch is retried with back-off capped at a few seconds;
  recovery is reported once;
- one record the database refuses (a constraint): the batch is retried row by row, the bad record
  is reported with its id and dropped (it would fail forever), the others are written
  (``commit.py``);
- the buffer is full (``max_pending`` records, days of plays): the oldest records leave memory
  but stay in the journal, which is replayed as soon as the database keeps up again;
- the writer is closed while the database is away: what is unwritten is already in the journal,
  replayed at the next start-up (before crash repair).
A record is lost only when it could be kept neither in the journal (a full disk) nor in memory,
and that is counted in ``stats().lost`` and reported.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from signage.domain import Play, PlayRecord
from signage.fleet.power import PowerEvent
from signage.impressions.metrics import Impression
from signage.impressions.occupancy import OccupancyCell
from signage.store.base import Heartbeat
from signage.store.commit import commit_or_reject, replay_batches
from signage.store.engine import describe_url
from signage.store.journal import Journal, Record
from signage.store.migrate import upgrade
from signage.store.models import PLAY, record_of, row_to_play
from signage.store.progress import Progress
from signage.store.records import (
    HEARTBEAT,
    heartbeat_record,
    impression_record,
    occupancy_record,
    play_record,
    power_event_record,
)
from signage.store.repair import repair_open_plays
from signage.store.sql import one_line, retry_delay_s

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreStats:
    written: int  # records committed (a play's start and end may be one record)
    pending: int  # records waiting in memory
    rejected: int  # records the database refused, reported one by one
    replayed: int  # records written from the journal (an earlier run's, or this run's overflow)
    lost: int  # records neither the journal nor memory could hold
    failing: bool  # the last write attempt failed
    repaired: int  # open plays closed at start-up


@dataclass(frozen=True)
class _Entry:
    version: int
    record: Record
    play: Play | None
    journaled: bool


class StoreWriter:
    """PlaySink, HeartbeatSink and ImpressionSink over any SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        screen_id: str | None = None,
        journal: Journal | None = None,
        progress: Progress | None = None,
        max_pending: int = 100_000,
        batch_max: int = 1000,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 5.0,
        migrate: bool = True,
    ) -> None:
        self.engine = engine
        self._screen_id = screen_id
        self._journal = journal
        self._progress = progress
        self._max_pending = max(1, max_pending)
        self._batch_max = max(1, batch_max)
        self._retry = (retry_base_s, retry_cap_s)
        self._migrate = migrate
        self._where = describe_url(str(engine.url))
        self._cond = threading.Condition()
        self._pending: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._versions = itertools.count(1)
        self._ready = threading.Event()
        self._stopping = False
        self._abandon = False
        self._failing = False
        self._evicted = False  # records left memory for the journal: replay it when the database keeps up
        self._replaying = False  # a sealed journal segment is being written: flush() waits for it too
        self._unjournaled = 0  # entries in memory only (the journal could not be written)
        self._written = self._rejected = self._replayed = self._lost = self._repaired = 0
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)

    # -- the sink side, called from the player's threads ----------------------------------------

    def start(self) -> StoreWriter:
        """Start the writer; migrations, the journal replay and crash repair run on its thread."""
        self._thread.start()
        return self

    def play_started(self, play: Play) -> None:
        self._put_built(functools.partial(play_record, play), "proof of play", play)

    def play_ended(self, play: Play) -> None:
        self._put_built(functools.partial(play_record, play), "proof of play", play)

    def write_heartbeat(self, heartbeat: Heartbeat) -> None:
        self._put(heartbeat_record(heartbeat), None)

    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        """Queue one finished impression (same play_id as its play); bad data is reported, never raised."""
        build = functools.partial(impression_record, impression, screen_id, recorded_at)
        self._put_built(build, f"impression of play {impression.play_id!r}")

    def write_occupancy(
        self, screen_id: str, run_id: uuid.UUID, hour: datetime, cells: tuple[OccupancyCell, ...]
    ) -> None:
        """Queue one hour's floor-cell totals of a player run; they overwrite the run's earlier ones."""
        build = functools.partial(occupancy_record, screen_id, run_id, hour, cells)
        self._put_built(build, f"occupancy of {hour.isoformat()}")

    def write_power_event(self, event: PowerEvent) -> None:
        """Queue one change of the screen's power (``signage.fleet.power``); bad data is reported."""
        self._put_built(functools.partial(power_event_record, event), "power event")

    def recent_plays(self, since: datetime) -> Sequence[PlayRecord]:
        plays: dict[str, Play] = {}
        if self._ready.is_set():
            query = sa.select(PLAY).where(PLAY.c.started_at >= since)
            if self._screen_id is not None:
                query = query.where(PLAY.c.screen_id == self._screen_id)
            try:
                with self.engine.connect() as conn:
                    plays = {str(row.play_id): row_to_play(row) for row in conn.execute(query)}
            except sa.exc.SQLAlchemyError as exc:
                log.warning(
                    "could not read recent plays from %s (%s); using unsaved ones", self._where, one_line(exc)
                )
        with self._cond:
            for entry in self._pending.values():
                if entry.play is not None and entry.play.started_at >= since:
                    plays[entry.play.play_id] = entry.play
        return sorted((record_of(p) for p in plays.values()), key=lambda r: r.started_at)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Block until the store is ready and everything queued so far is committed.

        False if ``timeout_s`` ran out first (the database is failing, or the store was never started).
        """
        with self._cond:
            target = next(self._versions)
            return self._cond.wait_for(
                lambda: (
                    self._abandon
                    or (
                        self._ready.is_set()
                        and not self._evicted
                        and not self._replaying
                        and all(e.version > target for e in self._pending.values())
                    )
                ),
                timeout=timeout_s,
            )

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush and stop; what is still unwritten after ``timeout_s`` stays in the journal for the next start."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._cond:
            self._abandon = True
            self._cond.notify_all()
            left = list(self._pending.values())
            self._pending.clear()
            unsaved = [e.record for e in left if not e.journaled]
            saved = not unsaved or (self._journal is not None and self._journal.append(unsaved))
            if not saved:
                self._lost += len(unsaved)
            if self._journal is not None:
                self._journal.close()
        if not saved:
            log.error(
                "the store was closed with the database and the journal failing: %d record(s) LOST",
                len(unsaved),
            )
        elif left and self._journal is not None:
            log.warning(
                "the store was closed with %d record(s) not in the database; they are in %s for the next start",
                len(left),
                self._journal.directory,
            )
        if self._thread.is_alive():
            self._thread.join(1.0)

    def stats(self) -> StoreStats:
        with self._cond:
            return StoreStats(
                written=self._written,
                pending=len(self._pending),
                rejected=self._rejected,
                replayed=self._replayed,
                lost=self._lost,
                failing=self._failing,
                repaired=self._repaired,
            )

    # -- buffer ---------------------------------------------------------------------------------

    def _reject(self, message: str) -> None:
        with self._cond:
            self._rejected += 1
        log.error("%s", message)

    def _put_built(self, build: Callable[[], Record], what: str, play: Play | None = None) -> None:
        """Queue the record ``build`` makes; one it refuses (a ValueError) is reported as ``what`` not recorded."""
        try:
            record = build()
        except ValueError as exc:
            self._reject(f"{what} not recorded: {exc}")
            return
        self._put(record, play)

    def _put(self, record: Record, play: Play | None) -> None:
        lost = 0
        with self._cond:
            journaled = self._journal is not None and self._journal.append([record])
            if self._abandon:  # after close: the journal is all there is
                if not journaled:
                    self._lost += 1
                    lost = 1
            else:
                key = (record.kind, record.key)
                old = self._pending.pop(key, None)
                if old is not None and not old.journaled:
                    self._unjournaled -= 1
                self._pending[key] = _Entry(next(self._versions), record, play, journaled)
                self._unjournaled += not journaled
                while len(self._pending) > self._max_pending:
                    _, oldest = self._pending.popitem(last=False)
                    if oldest.journaled:
                        self._evicted = True
                        continue
                    self._unjournaled -= 1
                    if oldest.record.kind != HEARTBEAT:  # an old heartbeat is worthless: a newer one follows
                        self._lost += 1
                        lost += 1
                self._cond.notify_all()
        if lost:
            log.error(
                "the database and the journal are both failing and %d record(s) do not fit in memory: LOST",
                lost,
            )

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        if not self._retrying(self._prepare, "prepare"):
            return
        with self._cond:
            self._ready.set()
            self._cond.notify_all()
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: bool(self._pending) or self._evicted or self._stopping or self._abandon
                )
                if self._abandon or (self._stopping and not self._pending):
                    return
                sealed = None
                if self._evicted and not self._pending and self._journal is not None:
                    sealed, self._evicted = self._journal.seal(), False
                    self._replaying = sealed is not None
                batch = list(itertools.islice(self._pending.items(), self._batch_max))
            if sealed is not None:
                if not self._retrying(functools.partial(self._replay, sealed), "replay"):
                    return
                with self._cond:
                    self._replaying = False
                    self._cond.notify_all()
            if batch and not self._retrying(functools.partial(self._write, batch), "write"):
                return
            if self._journal is not None:
                self._journal.sync()

    def _retrying(self, action: Callable[[], None], what: str) -> bool:
        """Run ``action`` until it succeeds; False if the store was abandoned meanwhile."""
        attempt = 0
        while True:
            try:
                action()
            except Exception as exc:  # any database fault: keep the records, report once, retry
                if attempt == 0:
                    with self._cond:
                        self._failing = True
                    log.error(
                        "store cannot %s %s (%s); records are kept in the journal and retried",
                        what,
                        self._where,
                        one_line(exc),
                    )
                self._save_unjournaled()
                with self._cond:
                    stop = self._cond.wait_for(lambda: self._abandon, retry_delay_s(attempt, *self._retry))
                if stop:
                    return False
                attempt += 1
                continue
            if attempt:
                with self._cond:
                    self._failing = False
                log.warning("store is writing to %s again after %d failed attempts", self._where, attempt)
            return True

    def _save_unjournaled(self) -> None:
        """While the database fails, retry the journal for records that only memory holds (a freed disk)."""
        with self._cond:
            if not self._unjournaled or self._journal is None:
                return
            keys = [k for k, e in self._pending.items() if not e.journaled]
            if self._journal.append([self._pending[k].record for k in keys]):
                for k in keys:
                    entry = self._pending[k]
                    self._pending[k] = _Entry(entry.version, entry.record, entry.play, True)
                self._unjournaled = 0

    def _prepare(self) -> None:
        if self._migrate:
            upgrade(self.engine)
        if self._journal is not None:
            for segment in self._journal.leftovers():
                self._replay(segment)
        if self._screen_id is not None:
            with self.engine.begin() as conn:
                self._repaired += repair_open_plays(conn, self._screen_id, self._progress)
            self._progress = None

    def _replay(self, segment: Path) -> None:
        """Write every record of ``segment`` in order (latest version per key within a batch), then remove it."""
        count = 0
        for batch in replay_batches(segment, self._batch_max):
            count += commit_or_reject(self.engine, batch, self._reject)
        assert self._journal is not None
        self._journal.done(segment)
        with self._cond:
            self._replayed += count
        if count:
            log.warning("wrote %d record(s) from the journal %s", count, segment)

    def _write(self, batch: list[tuple[tuple[str, str], _Entry]]) -> None:
        written = commit_or_reject(self.engine, [e.record for _, e in batch], self._reject)
        with self._cond:
            for key, entry in batch:
                current = self._pending.get(key)
                if current is not None and current.version == entry.version:
                    del self._pending[key]
                    self._unjournaled -= not entry.journaled
            self._written += written
            if not self._pending and not self._evicted and self._journal is not None:
                self._journal.reset()  # everything it holds is committed
            self._cond.notify_all()
