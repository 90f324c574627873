"""Full campaign report over 10 million plays with audience data, on SQLite and on PostgreSQL.

Data is generated inside the database (a recursive CTE on SQLite, generate_series on PostgreSQL),
then the report indexes are built and the tables analysed. The timed step is ``build_report``,
every figure of a report (per ad/campaign, per screen, day x hour, demographics, emotion, CPM),
for one campaign (~1/100 of the plays), for one advertiser, and for the whole fleet. The baseline,
timed in the same run, fetches the same campaign's joined rows and sums them in Python: the
row-by-row approach the SQL aggregation replaces. Prints figures only.

    .venv/bin/python bench/reports.py                      # 10M plays, both databases
    .venv/bin/python bench/reports.py --plays 1000000 --skip-postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signage.impressions.tables import COMPOSITION_COLUMNS, IMPRESSION
from signage.reports.model import Report, ReportFilter
from signage.reports.query import build_report, tune_for_reports
from signage.reports.render import to_html
from signage.store.engine import make_engine
from signage.store.models import PLAY
from signage.testing.pgschema import DEFAULT_TEST_URL, unreachable_reason, with_search_path

ADS, SCREENS, DAYS = 400, 200, 180  # 4 ads per campaign, 100 campaigns, 40 advertisers
CAMPAIGN, ADVERTISER = "campaign-17", "adv-17"
TZ = ZoneInfo("Europe/Paris")
PG_SCHEMA = "bench_reports"


def _play_select(n: int, dialect: str) -> str:
    span = DAYS * 86400
    if dialect == "sqlite":
        pid = "printf('%032x', n)"
        started = f"datetime('2026-01-01', '+' || (n * {span} / {n}) || ' seconds')"
    else:
        pid = "lpad(to_hex(n), 32, '0')::uuid"
        started = f"timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => (n::bigint * {span} / {n}))"
    ad = f"((n * 7919) % {ADS})"
    return f"""
        SELECT {pid}, 'screen-' || ((n * 31) % {SCREENS}), 'ad-' || {ad}, 'adv-' || (({ad} / 4) % 40),
               'campaign-' || ({ad} / 4), 'default', {started}, NULL, 15.0, 15.0,
               CASE WHEN n % 20 = 0 THEN 'skipped' WHEN n % 11 = 0 THEN 'interrupted' ELSE 'completed' END,
               '', {"1" if dialect == "sqlite" else "true"}, 0, 0, NULL"""


def _impression_select(dialect: str) -> str:
    pid = "printf('%032x', n)" if dialect == "sqlite" else "lpad(to_hex(n), 32, '0')::uuid"
    started = "'2026-01-01 00:00:00'" if dialect == "sqlite" else "timestamptz '2026-01-01 00:00:00+00'"
    ots = "((n * 13) % 7)"
    viewers = f"({ots} * ((n * 17) % 4) / 4)"
    comp = ", ".join(
        f"CASE WHEN (n * 5) % 16 = {i} THEN {viewers} ELSE 0 END" for i in range(len(COMPOSITION_COLUMNS))
    )
    true = "1" if dialect == "sqlite" else "true"
    return f"""
        SELECT {pid}, 'screen-' || ((n * 31) % {SCREENS}), {started}, 1.0, {true},
               {ots}, {viewers}, {viewers} * 2.5 + ({ots} - {viewers}) * 0.4, {viewers} * 2.5, {ots} * 8.0,
               CASE WHEN n % 37 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 3 = 0 THEN 1 ELSE 0 END, 1,
               ({ots} * ((n * 3) % 5)) / 5, {ots}, {comp}, NULL"""


def _series(n: int, dialect: str, where: str = "") -> str:
    if dialect == "sqlite":
        return (
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) "
            f"{{select}} FROM s {where}"
        )
    return f"{{select}} FROM generate_series(1::bigint, {n}) AS s(n) {where}"


def generate(engine: sa.Engine, n: int) -> float:
    """Create the tables without indexes, fill them in SQL, then index and analyse; returns seconds."""
    t0 = time.perf_counter()
    tables = [PLAY, IMPRESSION]
    saved = {t.name: set(t.indexes) for t in tables}
    for t in tables:
        t.indexes.clear()
    try:
        SQLModel.metadata.drop_all(engine, tables=tables)
        SQLModel.metadata.create_all(engine, tables=tables)
    finally:
        for t in tables:
            t.indexes.update(saved[t.name])
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO play {_series(n, dialect).format(select=_play_select(n, dialect))}")
        )
        # About one play in nine had no camera: no impression row, as in the product.
        series = _series(n, dialect, "WHERE n % 9 <> 0").format(select=_impression_select(dialect))
        conn.execute(sa.text(f"INSERT INTO impression {series}"))
    with engine.begin() as conn:
        for t in tables:
            for index in t.indexes:
                index.create(conn)
        conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - t0


def count_plays(engine: sa.Engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM play")).scalar_one())
    except sa.exc.SQLAlchemyError:
        return -1


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def python_baseline(engine: sa.Engine) -> int:
    """The same campaign's totals, summed row by row in Python."""
    i, p = IMPRESSION.c, PLAY.c
    query = (
        sa.select(
            p.ad_id,
            p.started_at,
            i.ots,
            i.viewers,
            i.attention_s,
            *(IMPRESSION.c[name] for _, _, name in COMPOSITION_COLUMNS),
        )
        .select_from(PLAY.outerjoin(IMPRESSION, i.play_id == p.play_id))
        .where(p.campaign == CAMPAIGN, p.outcome.in_(("completed", "interrupted")))
    )
    totals: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            acc = totals.setdefault(row[0], [0, 0, 0, 0.0])
            acc[0] += 1
            acc[1] += row[2] or 0
            acc[2] += row[3] or 0
            acc[3] += row[4] or 0.0
            row[1].astimezone(TZ)  # the local day x hour fold needs each row's local time
    return int(sum(v[0] for v in totals.values()))


def _bulk_engine(engine: sa.Engine) -> sa.Engine:
    """For generation only: no journal on SQLite (a crash just means generating again)."""
    if engine.dialect.name != "sqlite":
        return engine
    bulk = sa.create_engine(engine.url)

    @sa.event.listens_for(bulk, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=OFF")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()

    return bulk


def bench(name: str, engine: sa.Engine, n: int, repeat: int, fleet: bool) -> None:
    have = count_plays(engine)
    if have != n:
        engine.dispose()
        bulk = _bulk_engine(engine)
        seconds = generate(bulk, n)
        bulk.dispose()
        print(f"{name}: generated {n:,} plays (+{n - n // 9 - 1:,} impressions) in SQL in {seconds:.1f} s")
    else:
        print(f"{name}: reusing {n:,} plays already generated")
    now = datetime(2026, 7, 1, tzinfo=UTC)
    cases = (
        ("campaign", ReportFilter(campaign=CAMPAIGN)),
        ("advertiser", ReportFilter(advertiser=ADVERTISER)),
        (
            "campaign, one month",
            ReportFilter(
                campaign=CAMPAIGN, date_from=datetime(2026, 3, 1).date(), date_to=datetime(2026, 3, 31).date()
            ),
        ),
    )
    campaign_s = 0.0
    for label, f in cases:

        def run(f: ReportFilter = f) -> Report:
            return build_report(engine, f, TZ, now=now)

        seconds, report = timed(run, repeat)
        plays = report.total.plays  # type: ignore[attr-defined]
        print(f"{name}: full report, {label:<20} {plays:>10,} plays  {seconds:7.3f} s (median of {repeat})")
        if label == "campaign":
            campaign_s = seconds
            html_s, _ = timed(lambda r=report: to_html(r), 1)  # type: ignore[misc]
            print(f"{name}: html with 5 charts for that campaign             {html_s:7.3f} s")
    if fleet:
        fleet_s, whole = timed(lambda: build_report(engine, ReportFilter(), TZ, now=now), 1)
        print(f"{name}: full report, whole fleet         {whole.total.plays:>10,} plays  {fleet_s:7.3f} s")  # type: ignore[attr-defined]
    base_s, base_plays = timed(lambda: python_baseline(engine), 1)
    print(
        f"{name}: baseline, campaign summed in Python {base_plays:>9,} plays  {base_s:7.3f} s  "
        f"(full SQL report / Python totals-only baseline = {campaign_s / base_s:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/signage-bench-reports.db"))
    parser.add_argument("--postgres-url", default=DEFAULT_TEST_URL)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--fleet", action="store_true", help="also time a report over every play (slow)")
    args = parser.parse_args()
    if not args.skip_sqlite:
        bench(
            "sqlite",
            tune_for_reports(make_engine(f"sqlite:///{args.sqlite_path}")),
            args.plays,
            args.repeat,
            args.fleet,
        )
    if not args.skip_postgres:
        reason = unreachable_reason(args.postgres_url)
        if reason:
            print(f"postgresql: skipped ({reason})")
            return
        admin = sa.create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{PG_SCHEMA}"'))
        bench(
            "postgresql",
            make_engine(with_search_path(args.postgres_url, PG_SCHEMA)),
            args.plays,
            args.repeat,
            args.fleet,
        )


if __name__ == "__main__":
    main()
