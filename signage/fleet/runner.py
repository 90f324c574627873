"""The `signage sync` process: migrate both ends, then sync passes until stopped, riding out outages."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from signage.fleet.sync import SyncReport, sync_once, target_name
from signage.store.engine import describe_url, make_engine
from signage.store.migrate import upgrade
from signage.store.sql import one_line, retry_delay_s

log = logging.getLogger(__name__)

APPLICATION_NAME = "signage-sync"  # shows in pg_stat_activity, so an operator can find us


@dataclass(frozen=True)
class SyncOutcome:
    passes: int
    rows: int
    error: str  # the last error sentence, "" when the last pass succeeded


def central_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "postgresql":
        raise ValueError(
            f"the central database must be PostgreSQL (postgresql+psycopg://...), got {describe_url(url)}"
        )
    return make_engine(url, connect_args={"application_name": APPLICATION_NAME, "connect_timeout": 10})


def prepare(local: Engine, central: Engine) -> None:
    """Bring both schemas to the same revision (a fresh central database is created here)."""
    upgrade(local)
    upgrade(central)


def run_sync(
    local_url: str,
    central_url: str,
    *,
    once: bool,
    stop: threading.Event,
    interval_s: float = 10.0,
    batch_rows: int = 2000,
    retry_cap_s: float = 60.0,
) -> SyncOutcome:
    """Sync until ``stop`` is set (or one successful pass with ``once``), backing off while a side is away."""
    local = make_engine(local_url)
    central = central_engine(central_url)
    target = target_name(central_url)
    passes = rows = failures = 0
    prepared = False
    error = ""
    try:
        while not stop.is_set():
            try:
                if not prepared:
                    prepare(local, central)
                    prepared = True
                report: SyncReport = sync_once(
                    local, central, target=target, now=datetime.now(UTC), batch_rows=batch_rows
                )
            except sa.exc.SQLAlchemyError as exc:
                error = f"sync to {target} failed ({one_line(exc)})"
                if failures == 0:
                    log.error("%s; nothing is lost, retrying with back-off", error)
                failures += 1
                if once:
                    break
                stop.wait(retry_delay_s(failures - 1, 1.0, retry_cap_s))
                continue
            passes += 1
            rows += report.rows
            if failures:
                log.warning("sync to %s resumed after %d failed attempt(s)", target, failures)
            failures, error = 0, ""
            if report.rows:
                log.info(
                    "shipped %s to %s",
                    ", ".join(f"{t.rows} {t.table}" for t in report.tables if t.rows),
                    target,
                )
            if once:
                break
            stop.wait(interval_s)
    finally:
        local.dispose()
        central.dispose()
    return SyncOutcome(passes, rows, error)
