"""Fleet-sync throughput into PostgreSQL, rows/s (bench/reports.py may call ``measure_sync``).

    .venv/bin/python bench/sync.py [--plays 100000] [--batch 2000] [--postgres URL]

A local SQLite store of N plays is shipped to a throwaway schema on the central server by the
real ``sync_once`` (upserts, sync_seq triggers, watermarks). The baseline, in the same run, is a
plain executemany INSERT of the same rows into an unindexed table without triggers: the floor
cost of moving those bytes into that server. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from signage.fleet.runner import central_engine, prepare
from signage.fleet.sync import sync_once, target_name
from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.models import PLAY, play_values
from signage.store.sql import upsert
from signage.testing.pgschema import temporary_schema
from signage.testing.sample_plays import postgres_test_url, sample_play


@dataclass(frozen=True)
class SyncFigures:
    rows: int
    batch_rows: int
    sync_rows_per_s: float
    plain_insert_rows_per_s: float

    @property
    def ratio(self) -> float:
        return self.sync_rows_per_s / self.plain_insert_rows_per_s


def _local_store(path: Path, plays: int) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        for start in range(0, plays, 5000):
            upsert(conn, PLAY, [play_values(sample_play(i)) for i in range(start, min(plays, start + 5000))])
    return engine


def measure_sync(pg_url: str, plays: int = 100_000, batch_rows: int = 2000) -> SyncFigures:
    """Ship ``plays`` rows from a fresh local SQLite store into a throwaway schema at ``pg_url``."""
    with tempfile.TemporaryDirectory() as folder, temporary_schema(pg_url, prefix="bench_sync") as url:
        local = _local_store(Path(folder) / "local.db", plays)
        central = central_engine(url)
        prepare(local, central)
        start = time.perf_counter()
        report = sync_once(
            local, central, target=target_name(url), now=datetime.now(UTC), batch_rows=batch_rows
        )
        sync_s = time.perf_counter() - start
        if report.tables[0].rows != plays:
            raise RuntimeError(f"shipped {report.tables[0].rows} plays, expected {plays}")

        plain = sa.Table("plain_copy", sa.MetaData(), *[sa.Column(c.name, c.type) for c in PLAY.columns])
        plain.create(central)
        with local.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(PLAY))]
        start = time.perf_counter()
        for first in range(0, len(rows), batch_rows):
            with central.begin() as conn:
                conn.execute(plain.insert(), rows[first : first + batch_rows])
        plain_s = time.perf_counter() - start
        local.dispose()
        central.dispose()
    return SyncFigures(plays, batch_rows, plays / sync_s, plays / plain_s)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plays", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: the test server)")
    args = parser.parse_args()
    url, why = (args.postgres, "") if args.postgres else postgres_test_url()
    if url is None:
        print(f"sync benchmark skipped: {why}")
        return
    f = measure_sync(url, args.plays, args.batch)
    print(
        f"sync into PostgreSQL: {f.sync_rows_per_s:,.0f} rows/s ({f.rows:,} plays, batches of {f.batch_rows})   "
        f"plain INSERT baseline: {f.plain_insert_rows_per_s:,.0f} rows/s   ratio {f.ratio:.2f}"
    )


if __name__ == "__main__":
    main()
