"""The `signage sync` process: migrate both ends, then sync passes until stopped, riding out outages."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from signage.fleet.http_target import HttpTarget, UplinkClient
from signage.fleet.sync import PostgresTarget, RowTarget, SyncReport, TargetError, sync_once, target_name
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


class SyncPasses:
    """Sync passes to one target with the error handling of a long-running process.

    ``run_pass`` never raises for a target or database fault: it logs the first failure and the
    recovery (transitions, not every retry) and returns None; ``retry_delay_s`` is the back-off.
    """

    def __init__(
        self,
        local: Engine,
        target: RowTarget,
        prepare: Callable[[], object],
        *,
        batch_rows: int = 2000,
        retry_cap_s: float = 60.0,
        now_utc: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.local, self.target = local, target
        self._prepare = prepare
        self.batch_rows = batch_rows
        self.retry_cap_s = retry_cap_s
        self._now_utc = now_utc
        self.prepared = False
        self.failures = 0
        self.error = ""  # the last error sentence, "" when the last pass succeeded

    def run_pass(self) -> SyncReport | None:
        name = self.target.name
        try:
            if not self.prepared:
                self._prepare()
                self.prepared = True
            report = sync_once(
                self.local, self.target, target=name, now=self._now_utc(), batch_rows=self.batch_rows
            )
        except (sa.exc.SQLAlchemyError, TargetError) as exc:
            self.error = f"sync to {name} failed ({one_line(exc)})"
            if self.failures == 0:
                log.error("%s; nothing is lost, retrying with back-off", self.error)
            self.failures += 1
            return None
        if self.failures:
            log.warning("sync to %s resumed after %d failed attempt(s)", name, self.failures)
        self.failures, self.error = 0, ""
        if report.rows:
            log.info(
                "shipped %s to %s", ", ".join(f"{t.rows} {t.table}" for t in report.tables if t.rows), name
            )
        return report

    def retry_delay_s(self) -> float:
        return retry_delay_s(max(0, self.failures - 1), 1.0, self.retry_cap_s)


def _run_passes(passes: SyncPasses, *, once: bool, stop: threading.Event, interval_s: float) -> SyncOutcome:
    count = rows = 0
    while not stop.is_set():
        report = passes.run_pass()
        if report is None:
            if once:
                break
            stop.wait(passes.retry_delay_s())
            continue
        count += 1
        rows += report.rows
        if once:
            break
        stop.wait(interval_s)
    return SyncOutcome(count, rows, passes.error)


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
    target = PostgresTarget(central, target_name(central_url))
    try:
        passes = SyncPasses(
            local, target, lambda: prepare(local, central), batch_rows=batch_rows, retry_cap_s=retry_cap_s
        )
        return _run_passes(passes, once=once, stop=stop, interval_s=interval_s)
    finally:
        local.dispose()
        central.dispose()


def run_http_sync(
    local_url: str,
    client: UplinkClient,
    *,
    once: bool,
    stop: threading.Event,
    interval_s: float = 10.0,
    batch_rows: int = 2000,
    retry_cap_s: float = 60.0,
) -> SyncOutcome:
    """The same, to the central server over HTTP (``fleet.server_url``): it migrates its own schema."""
    local = make_engine(local_url)
    try:
        passes = SyncPasses(
            local, HttpTarget(client), lambda: upgrade(local), batch_rows=batch_rows, retry_cap_s=retry_cap_s
        )
        return _run_passes(passes, once=once, stop=stop, interval_s=interval_s)
    finally:
        local.dispose()
