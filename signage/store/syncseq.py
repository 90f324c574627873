"""The fleet-sync change counter: a per-table ``sync_seq`` column kept by database triggers.

Every insert or update of a synced row sets ``sync_seq`` to the table's maximum plus one, inside the
writing transaction. Writers are serialised while they assign it (SQLite has one writer at a time;
on PostgreSQL the trigger takes a transaction-scoped advisory lock), so a higher ``sync_seq`` is
always committed after a lower one. That is what lets the sync keep a single number per table as its
watermark: a row it has not seen can never appear below the watermark later.

Any table can join the sync: give it a nullable BIGINT ``sync_seq`` column with an index, call
``install_sync_seq(op.get_bind(), "table")`` in its migration, and register its model module in
``signage.fleet.tables``. The triggers live in the database, so rows written by any code path (the
writer thread, a repair at start-up, a hand-run UPDATE) are shipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import Connection

SYNC_COLUMN = "sync_seq"

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_bump_sync_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.sync_seq IS DISTINCT FROM OLD.sync_seq THEN
    RETURN NEW;
  END IF;
  -- Held until commit: the next writer computes its maximum only after we are visible.
  PERFORM pg_advisory_xact_lock(hashtext(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME));
  -- Static SQL (one function per table) keeps a cached plan: twice the rows/s of EXECUTE format().
  NEW.sync_seq := COALESCE((SELECT MAX(sync_seq) FROM {table}), 0) + 1;
  RETURN NEW;
END $$
"""


def _sqlite_statements(table: str) -> list[str]:
    bump = (
        # MAX alone in its subquery: SQLite then reads it off the index; COALESCE(MAX()) scans the table.
        f"UPDATE {table} SET sync_seq = IFNULL((SELECT MAX(sync_seq) FROM {table}), 0) + 1 "
        "WHERE rowid = NEW.rowid;"
    )
    return [
        # The store's own writer sets sync_seq in its INSERT (next_sync_seq), which saves this
        # trigger's second write of the row; rows inserted any other way get it here.
        f"CREATE TRIGGER {table}_sync_seq_insert AFTER INSERT ON {table} "
        f"WHEN NEW.sync_seq IS NULL BEGIN {bump} END",
        # The WHEN clause keeps the trigger's own UPDATE from firing it again.
        f"CREATE TRIGGER {table}_sync_seq_update AFTER UPDATE ON {table} "
        f"WHEN NEW.sync_seq IS OLD.sync_seq BEGIN {bump} END",
    ]


def install_sync_seq(conn: Connection, table: str) -> None:
    """Create the triggers that keep ``table.sync_seq`` (call from a migration's upgrade)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for statement in _sqlite_statements(table):
            conn.execute(text(statement))
    elif dialect == "postgresql":
        conn.execute(text(_PG_FUNCTION.format(table=table)))
        conn.execute(
            text(
                f"CREATE TRIGGER {table}_sync_seq BEFORE INSERT OR UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_bump_sync_seq()"
            )
        )
    else:
        raise RuntimeError(f"the fleet sync does not support the {dialect} database")


def drop_sync_seq(conn: Connection, table: str) -> None:
    """Remove the triggers of ``table`` (call from a migration's downgrade)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_sync_seq_insert"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_sync_seq_update"))
    elif conn.dialect.name == "postgresql":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_sync_seq ON {table}"))
        conn.execute(text(f"DROP FUNCTION IF EXISTS {table}_bump_sync_seq()"))


def next_sync_seq(table: sa.Table) -> sa.ColumnElement[int]:
    """SQL for the next ``sync_seq`` of ``table``, for a SQLite INSERT/UPDATE that sets it itself.

    Evaluated per row inside the writing statement, so it is serialised like the triggers. On
    PostgreSQL leave ``sync_seq`` out: the trigger must assign it under its lock.
    """
    column = table.c[SYNC_COLUMN]
    return sa.func.ifnull(sa.select(sa.func.max(column)).scalar_subquery(), 0) + 1
