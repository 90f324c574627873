"""One sync pass: ship every changed row of every synced table to the central database.

Per table, rows are read in ``sync_seq`` order after the local watermark, upserted into the
central database in one transaction per batch, and only after that transaction has committed is
the watermark (kept in the local ``sync_state`` table) moved to the batch's last ``sync_seq``.

- A connection lost mid-batch rolls the central transaction back and leaves the watermark where
  it was, so the next pass ships the whole batch again: no loss.
- A crash after the central commit but before the watermark moved ships that batch again; the
  upsert (INSERT ... ON CONFLICT DO UPDATE on the primary key) makes it a no-op: no duplicates.
- A row changed after it was shipped (a play closed, a crash repaired) gets a new ``sync_seq``
  above the watermark and is shipped again, overwriting the central copy.

Where a batch goes is a ``RowTarget``: ``PostgresTarget`` upserts it into the central database
itself (``fleet.central_url``), ``signage.fleet.http_target.HttpTarget`` posts it to the central
server (``fleet.server_url``), which upserts it there. Either way ``ship`` returns only once the
batch is committed centrally and raises otherwise, and the watermark moves only after it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from signage.fleet.tables import SYNC_COLUMN, synced_tables
from signage.store.engine import describe_url
from signage.store.models import SYNC_STATE
from signage.store.sql import upsert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableProgress:
    table: str
    rows: int  # rows shipped in this pass
    batches: int
    watermark: int  # the last sync_seq known to be committed centrally


@dataclass(frozen=True)
class SyncReport:
    tables: tuple[TableProgress, ...]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class TargetError(Exception):
    """A batch the target did not commit (a link down, a refusal); one sentence, nothing lost."""


class RowTarget(Protocol):
    """Where the sync ships rows; ``name`` keys its watermarks in the local ``sync_state``."""

    @property
    def name(self) -> str: ...

    def ship(self, table: sa.Table, rows: list[dict[str, object]]) -> None:
        """Commit ``rows`` (column values, no ``sync_seq``) centrally as one batch, or raise."""


class PostgresTarget:
    """The central PostgreSQL itself: one upsert transaction per batch."""

    def __init__(self, engine: Engine, name: str | None = None) -> None:
        self.engine = engine
        self.name = name or target_name(engine.url.render_as_string(hide_password=True))

    def ship(self, table: sa.Table, rows: list[dict[str, object]]) -> None:
        with self.engine.begin() as conn:
            upsert(conn, table, rows)


def as_target(central: Engine | RowTarget, name: str) -> RowTarget:
    return PostgresTarget(central, name) if isinstance(central, Engine) else central


def target_name(central_url: str) -> str:
    """The watermark key of a central database: its URL without the password."""
    return describe_url(central_url)


def read_watermark(conn: Connection, target: str, table: str) -> int:
    value = conn.execute(
        sa.select(SYNC_STATE.c.last_seq).where(
            SYNC_STATE.c.target == target, SYNC_STATE.c.table_name == table
        )
    ).scalar_one_or_none()
    return int(value or 0)


def write_watermark(conn: Connection, target: str, table: str, seq: int, now: datetime) -> None:
    values = {"target": target, "table_name": table, "last_seq": seq, "updated_at": now}
    if conn.dialect.name == "sqlite":
        stmt = sqlite.insert(SYNC_STATE).values(values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["target", "table_name"], set_={"last_seq": seq, "updated_at": now}
            )
        )
    else:
        upsert(conn, SYNC_STATE, [values])


def sync_table(
    local: Engine,
    central: Engine | RowTarget,
    table: sa.Table,
    target: str,
    *,
    batch_rows: int,
    now: datetime,
) -> TableProgress:
    """Ship ``table``'s rows changed since the watermark; raises when a batch fails (nothing lost)."""
    sink = as_target(central, target)
    shipped = [c for c in table.columns if c.name != SYNC_COLUMN]
    seq = table.c[SYNC_COLUMN]
    with local.connect() as conn:
        watermark = read_watermark(conn, target, table.name)
    rows = batches = 0
    while True:
        with local.connect() as conn:
            batch = conn.execute(
                sa.select(*shipped, seq).where(seq > watermark).order_by(seq).limit(batch_rows)
            ).all()
        if not batch:
            return TableProgress(table.name, rows, batches, watermark)
        values = [{c.name: row._mapping[c.name] for c in shipped} for row in batch]
        sink.ship(table, values)
        # Only now is the batch safe centrally; a crash before the next line just re-ships it.
        watermark = int(batch[-1]._mapping[SYNC_COLUMN])
        with local.begin() as conn:
            write_watermark(conn, target, table.name, watermark, now)
        rows += len(batch)
        batches += 1
        log.debug("shipped %d %s rows up to sync_seq %d", len(batch), table.name, watermark)


def sync_once(
    local: Engine,
    central: Engine | RowTarget,
    *,
    target: str,
    now: datetime,
    tables: Sequence[sa.Table] | None = None,
    batch_rows: int = 2000,
) -> SyncReport:
    """One pass over every synced table (``central``: an engine or a target; ``target`` keys the
    watermarks). Both schemas must be migrated (see runner.prepare)."""
    sink = as_target(central, target)
    progress = [
        sync_table(local, sink, table, target, batch_rows=batch_rows, now=now)
        for table in (tables if tables is not None else synced_tables())
    ]
    return SyncReport(tuple(progress))
