"""The proof-of-play writer: one thread behind a bounded buffer, committing in batches.

Playback never waits for the database. ``play_started``/``play_ended``/``write_heartbeat`` only
put a record in an in-memory buffer keyed by play id (or screen id for heartbeats), so a play's
start and end arriving before the next commit become one row write. The writer thread commits up to
``batch_max`` records per transaction as upserts, which makes a retried batch harmless.

Failures:
- the database is unreachable, locked or full: reported once in one sentence, records stay in the
  buffer and the batch is retried with back-off; recovery is reported once;
- one record the database refuses (a constraint): the batch is retried row by row, the bad record
  is reported with its id and dropped (it would fail forever), the others are written;
- the buffer is full (``max_pending`` records, days of plays): the oldest waiting play goes to the
  overflow journal, written at the next start-up. A play is lost only when the journal cannot be
  written either, and that is counted in ``stats().dropped`` and reported.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from signage.domain import Play, PlayRecord
from signage.store.base import Heartbeat
from signage.store.engine import describe_url
from signage.store.migrate import upgrade
from signage.store.models import HEARTBEAT, PLAY, heartbeat_values, play_values, record_of, row_to_play
from signage.store.overflow import OverflowJournal
from signage.store.repair import repair_open_plays
from signage.store.syncseq import SYNC_COLUMN, next_sync_seq

log = logging.getLogger(__name__)

_PLAY, _BEAT = "play", "heartbeat"


@dataclass(frozen=True)
class StoreStats:
    written: int  # records committed (a play's start and end may be one record)
    pending: int  # records waiting in memory
    rejected: int  # records the database refused, reported one by one
    spilled: int  # plays moved to the overflow journal
    dropped: int  # plays lost because neither memory nor the journal could hold them
    failing: bool  # the last write attempt failed
    repaired: int  # open plays closed at start-up


@dataclass(frozen=True)
class _Entry:
    version: int
    kind: str
    values: dict[str, object]
    play: Play | None


def retry_delay_s(attempt: int, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Exponential back-off: base, 2*base, 4*base... capped."""
    return min(cap_s, base_s * (2 ** min(attempt, 30)))


def is_row_error(exc: BaseException) -> bool:
    """True when the fault lies in the record (retrying it can never succeed), not in the database."""
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return True
    # A StatementError that is not a DBAPIError failed while binding our values, before the database.
    return isinstance(exc, sa.exc.StatementError) and not isinstance(exc, sa.exc.DBAPIError)


def one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def upsert(conn: Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert ``rows`` or overwrite the rows with the same primary key (never touching sync_seq)."""
    if not rows:
        return
    stmt: sqlite.Insert | postgresql.Insert
    keys = [c.name for c in table.primary_key.columns]
    update: dict[str, Any]
    if conn.dialect.name == "sqlite":
        stmt = sqlite.insert(table)
        update = {c: stmt.excluded[c] for c in rows[0] if c not in keys and c != SYNC_COLUMN}
        if SYNC_COLUMN in table.c:
            # Setting it here spares the trigger a second write of every row (3x the throughput).
            stmt = stmt.values({SYNC_COLUMN: next_sync_seq(table)})
            update[SYNC_COLUMN] = next_sync_seq(table)
    elif conn.dialect.name == "postgresql":
        stmt = postgresql.insert(table)
        update = {c: stmt.excluded[c] for c in rows[0] if c not in keys and c != SYNC_COLUMN}
    else:
        raise RuntimeError(f"the store does not support the {conn.dialect.name} database")
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)


class SqlPlaySink:
    """PlaySink and HeartbeatSink over any SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        screen_id: str | None = None,
        overflow: OverflowJournal | None = None,
        max_pending: int = 100_000,
        batch_max: int = 1000,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
        migrate: bool = True,
    ) -> None:
        self.engine = engine
        self._screen_id = screen_id
        self._overflow = overflow
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
        self._written = self._rejected = self._spilled = self._dropped = self._repaired = 0
        self._thread = threading.Thread(target=self._run, name="play-store-writer", daemon=True)

    # -- the PlaySink / HeartbeatSink side, called from the player loop ---------------------------

    def start(self) -> SqlPlaySink:
        """Start the writer; migrations, crash repair and the journal replay run on its thread."""
        self._thread.start()
        return self

    def play_started(self, play: Play) -> None:
        self._put_play(play)

    def play_ended(self, play: Play) -> None:
        self._put_play(play)

    def write_heartbeat(self, heartbeat: Heartbeat) -> None:
        self._put(_BEAT, heartbeat.screen_id, heartbeat_values(heartbeat), None)

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
                    or (self._ready.is_set() and all(e.version > target for e in self._pending.values()))
                ),
                timeout=timeout_s,
            )

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush and stop; records still unwritten after ``timeout_s`` go to the overflow journal."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._cond:
            self._abandon = True
            self._cond.notify_all()
            left = [e.play for e in self._pending.values() if e.play is not None]
            self._pending.clear()
        if left:
            self._spill(left, "the store was closed while the database was failing")
        if self._thread.is_alive():
            self._thread.join(1.0)

    def stats(self) -> StoreStats:
        with self._cond:
            return StoreStats(
                written=self._written,
                pending=len(self._pending),
                rejected=self._rejected,
                spilled=self._spilled,
                dropped=self._dropped,
                failing=self._failing,
                repaired=self._repaired,
            )

    # -- buffer ---------------------------------------------------------------------------------

    def _put_play(self, play: Play) -> None:
        try:
            values = play_values(play)
        except ValueError as exc:
            with self._cond:
                self._rejected += 1
            log.error("proof of play not recorded: %s", exc)
            return
        self._put(_PLAY, play.play_id, values, play)

    def _put(self, kind: str, key: str, values: dict[str, object], play: Play | None) -> None:
        overflow: list[Play] = []
        with self._cond:
            if self._abandon:
                if play is not None:
                    overflow.append(play)
            else:
                self._pending.pop((kind, key), None)
                self._pending[(kind, key)] = _Entry(next(self._versions), kind, values, play)
                while len(self._pending) > self._max_pending:
                    _, oldest = self._pending.popitem(last=False)
                    if oldest.play is not None:  # an old heartbeat is worthless: a newer one follows
                        overflow.append(oldest.play)
                self._cond.notify_all()
        if overflow:
            self._spill(overflow, f"the buffer of {self._max_pending} records is full")

    def _spill(self, plays: list[Play], why: str) -> None:
        saved = self._overflow is not None and self._overflow.append(plays)
        with self._cond:
            first = self._spilled == 0 and self._dropped == 0
            if saved:
                self._spilled += len(plays)
            else:
                self._dropped += len(plays)
        if saved and first:
            assert self._overflow is not None
            log.error("%s: plays are being saved to %s until the next start", why, self._overflow.path)
        elif not saved:
            log.error("%s and no overflow journal could be written: %d play(s) LOST", why, len(plays))

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        if not self._retrying(self._prepare, "prepare"):
            return
        with self._cond:
            self._ready.set()
            self._cond.notify_all()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._stopping or self._abandon)
                if self._abandon or (self._stopping and not self._pending):
                    return
                batch = list(itertools.islice(self._pending.items(), self._batch_max))
            if not self._retrying(functools.partial(self._write, batch), "write"):
                return

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
                        "proof-of-play store cannot %s %s (%s); records are kept in memory and retried",
                        what,
                        self._where,
                        one_line(exc),
                    )
                with self._cond:
                    stop = self._cond.wait_for(lambda: self._abandon, retry_delay_s(attempt, *self._retry))
                if stop:
                    return False
                attempt += 1
                continue
            if attempt:
                with self._cond:
                    self._failing = False
                log.warning(
                    "proof-of-play store is writing to %s again after %d failed attempts",
                    self._where,
                    attempt,
                )
            return True

    def _prepare(self) -> None:
        if self._migrate:
            upgrade(self.engine)
        if self._screen_id is not None:
            with self.engine.begin() as conn:
                repaired = repair_open_plays(conn, self._screen_id)
            self._repaired += repaired
        if self._overflow is not None:
            journal = self._overflow.read()
            if journal:
                with self.engine.begin() as conn:
                    for start in range(0, len(journal), self._batch_max):
                        upsert(conn, PLAY, [play_values(p) for p in journal[start : start + self._batch_max]])
                log.warning(
                    "wrote %d play(s) from the overflow journal %s", len(journal), self._overflow.path
                )
            self._overflow.remove()

    def _write(self, batch: list[tuple[tuple[str, str], _Entry]]) -> None:
        try:
            self._commit([e for _, e in batch])
            done, written = batch, len(batch)
        except Exception as exc:
            if not is_row_error(exc):
                raise
            done, written = [], 0
            for key, entry in batch:  # find the culprit(s); the rest still get written
                try:
                    self._commit([entry])
                    written += 1
                except Exception as row_exc:
                    if not is_row_error(row_exc):
                        raise
                    with self._cond:
                        self._rejected += 1
                    log.error(
                        "the database refused %s %s (%s); it is not recorded",
                        entry.kind,
                        key[1],
                        one_line(row_exc),
                    )
                done.append((key, entry))
        with self._cond:
            for key, entry in done:
                current = self._pending.get(key)
                if current is not None and current.version == entry.version:
                    del self._pending[key]
            self._written += written
            self._cond.notify_all()

    def _commit(self, entries: list[_Entry]) -> None:
        with self.engine.begin() as conn:
            upsert(conn, PLAY, [e.values for e in entries if e.kind == _PLAY])
            upsert(conn, HEARTBEAT, [e.values for e in entries if e.kind == _BEAT])
