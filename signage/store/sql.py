"""SQL helpers shared by the store writer and the fleet sync: idempotent upserts, fault triage."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from signage.store.models import HEARTBEAT, PLAY
from signage.store.syncseq import SYNC_COLUMN, next_sync_seq


def stored_tables() -> tuple[sa.Table, ...]:
    """What the player stores, in commit order: the play before the rows that describe it."""
    # Imported here: the impression tables use this package's column types (an import cycle at load).
    from signage.fleet.power_table import POWER_EVENT
    from signage.impressions.occupancy_table import OCCUPANCY
    from signage.impressions.tables import IMPRESSION, IMPRESSION_TRACK

    return (PLAY, HEARTBEAT, IMPRESSION, IMPRESSION_TRACK, OCCUPANCY, POWER_EVENT)


def retry_delay_s(attempt: int, base_s: float = 0.5, cap_s: float = 5.0) -> float:
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
