"""Proof-of-play write throughput: plays/s committed in batches by the writer thread.

    .venv/bin/python bench/store.py [--plays 50000] [--postgres URL]

Figures are printed, never asserted. The baseline, measured in the same run on the same database,
is one transaction per play (what a naive logger does); the ratio shows what batching buys.
PostgreSQL runs in a throwaway schema (SIGNAGE_TEST_POSTGRES_URL or --postgres; skipped if down).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.models import PLAY, play_values
from signage.store.sql import upsert
from signage.store.writer import StoreWriter
from signage.testing.pgschema import temporary_schema
from signage.testing.sample_plays import postgres_test_url, sample_play


@dataclass(frozen=True)
class WriteFigures:
    backend: str
    plays: int
    batched_per_s: float
    batched_per_cpu_s: float  # plays per second of this process's CPU: what an idle machine would see
    baseline_plays: int
    one_per_txn_per_s: float


def measure(url: str, backend: str, plays: int, baseline_plays: int) -> WriteFigures:
    engine = make_engine(url)
    upgrade(engine)
    sample = [sample_play(i) for i in range(plays + baseline_plays)]

    # Baseline: a transaction per play, straight through the same upsert.
    start = time.perf_counter()
    for play in sample[plays:]:
        with engine.begin() as conn:
            upsert(conn, PLAY, [play_values(play)])
    baseline = baseline_plays / (time.perf_counter() - start)

    # The product path: the player thread hands plays over, the writer commits them in batches.
    sink = StoreWriter(engine, migrate=False, batch_max=1000).start()
    start, cpu = time.perf_counter(), time.process_time()
    for play in sample[:plays]:
        sink.play_ended(play)
    if not sink.flush(600):
        raise RuntimeError(f"{backend}: the writer did not finish")
    batched = plays / (time.perf_counter() - start)
    per_cpu = plays / (time.process_time() - cpu)
    sink.close()
    engine.dispose()
    return WriteFigures(backend, plays, batched, per_cpu, baseline_plays, baseline)


def report(f: WriteFigures) -> None:
    print(
        f"{f.backend:<10} batched: {f.batched_per_s:>9,.0f} plays/s ({f.plays:,} plays; "
        f"{f.batched_per_cpu_s:,.0f} per CPU-second of this process)   "
        f"one transaction per play: {f.one_per_txn_per_s:>7,.0f} plays/s ({f.baseline_plays:,})   "
        f"ratio {f.batched_per_s / f.one_per_txn_per_s:,.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--plays", type=int, default=50_000)
    parser.add_argument("--baseline-plays", type=int, default=2_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: the test server)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report(measure(f"sqlite:///{Path(folder) / 'bench.db'}", "sqlite", args.plays, args.baseline_plays))
    url, why = (args.postgres, "") if args.postgres else postgres_test_url()
    if url is None:
        print(f"postgresql skipped: {why}")
        return
    with temporary_schema(url, prefix="bench_store") as schema_url:
        report(measure(schema_url, "postgresql", args.plays, args.baseline_plays))


if __name__ == "__main__":
    main()
