"""How the store writer's records reach the database: batches of upserts, row by row when one is refused.

A batch is one transaction that upserts every row of its records, table by table in
``stored_tables()`` order (a play before the rows that describe it), so committing a batch twice
changes nothing. When the database refuses a record (a constraint, a value it cannot bind), the
batch is committed again one record at a time: the culprit is reported through ``reject`` and
dropped (it would fail forever), the others are written. Any other fault (the database is away,
locked or full) is raised for the writer to retry. A journal segment is replayed the same way, in
batches of its records in order, each keeping only the latest version of a record.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from signage.store.journal import Record, read_segment
from signage.store.sql import is_row_error, one_line, stored_tables, upsert


def commit(engine: Engine, records: Sequence[Record]) -> None:
    """Upsert every row of ``records`` in one transaction."""
    with engine.begin() as conn:
        for table in stored_tables():
            rows = [dict(row) for r in records for row in r.rows.get(table.name, ())]
            upsert(conn, table, rows)


def commit_or_reject(engine: Engine, records: list[Record], reject: Callable[[str], None]) -> int:
    """Commit ``records``; if the database refuses one, commit the rest one by one. Returns how many went in."""
    try:
        commit(engine, records)
        return len(records)
    except Exception as exc:
        if not is_row_error(exc):
            raise
    written = 0
    for record in records:  # find the culprit(s); the rest still get written
        try:
            commit(engine, [record])
            written += 1
        except Exception as row_exc:
            if not is_row_error(row_exc):
                raise
            reject(
                f"the database refused {record.kind} {record.key} ({one_line(row_exc)}); it is not recorded"
            )
    return written


def replay_batches(segment: Path, size: int) -> Iterator[list[Record]]:
    """The records of ``segment`` in batches of up to ``size`` read, each keeping a key's latest version."""
    for chunk in _chunks(read_segment(segment), size):
        latest: OrderedDict[tuple[str, str], Record] = OrderedDict()
        for record in chunk:
            latest.pop((record.kind, record.key), None)
            latest[(record.kind, record.key)] = record
        yield list(latest.values())


def _chunks(records: Iterable[Record], size: int) -> Iterable[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
