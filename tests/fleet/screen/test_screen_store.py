"""Migration 0007, power events through the store writer, and alert plays left out of every report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from screen_helpers import START, Rig, alert

from signage.domain import PlayOutcome
from signage.fleet.directives import FakeDirectives
from signage.fleet.power import PowerEvent
from signage.fleet.power_table import POWER_EVENT
from signage.fleet.tables import synced_tables
from signage.reports.model import ReportFilter
from signage.reports.query import build_report, campaign_exists, campaigns_of
from signage.store.engine import make_engine
from signage.store.migrate import downgrade, upgrade
from signage.store.models import PLAY, row_to_play
from signage.store.repair import repair_open_plays
from signage.store.writer import StoreWriter


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreWriter]:
    writer = StoreWriter(make_engine(f"sqlite:///{tmp_path / 's.db'}"), screen_id="s1").start()
    yield writer
    writer.close()
    writer.engine.dispose()


def _schema(engine: sa.Engine, table: sa.Table) -> tuple[dict[str, bool], set[str], list[str]]:
    inspector = sa.inspect(engine)
    columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
    indexes = {str(i["name"]) for i in inspector.get_indexes(table.name)}
    return columns, indexes, inspector.get_pk_constraint(table.name)["constrained_columns"]


def _check_power_event_table(engine: sa.Engine) -> None:
    columns, indexes, pk = _schema(engine, POWER_EVENT)
    assert columns == {c.name: (c.nullable and not c.primary_key) for c in POWER_EVENT.columns}
    assert indexes == {i.name for i in POWER_EVENT.indexes} and pk == ["event_id"]


def _insert_alert_play(conn: sa.Connection, outcome: str | None) -> None:
    conn.execute(
        PLAY.insert().values(
            play_id=uuid.uuid4(), screen_id="s1", ad_id="alert:x", advertiser="", campaign="", rule="alert",
            started_at=START, ended_at=None, planned_s=1.0, actual_s=0.0, outcome=outcome, reason="",
            audience_known=False, present_at_start=0, watching_at_start=0,
        )
    )  # fmt: skip


def test_0007_adds_power_events_and_the_alert_outcome_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    _check_power_event_table(engine)
    assert "release_id" in _schema(engine, PLAY)[0], "the rebuilt play table keeps 0006's column"
    with engine.begin() as conn:
        _insert_alert_play(conn, "alert")
        _insert_alert_play(conn, "alert")
        seqs = sorted(conn.execute(sa.select(PLAY.c.sync_seq)).scalars())
    assert seqs == [1, 2], "the play table's sync_seq triggers survive the rebuild"
    downgrade(engine, "0006_release_id")
    assert "power_event" not in sa.inspect(engine).get_table_names()
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(PLAY)).scalar() == 0
        with pytest.raises(sa.exc.IntegrityError):
            _insert_alert_play(conn, "alert")
    engine.dispose()


@pytest.mark.postgres
def test_0007_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    _check_power_event_table(engine)
    with engine.begin() as conn:
        _insert_alert_play(conn, "alert")
        conn.execute(
            POWER_EVENT.insert().values(
                event_id=uuid.uuid4(), screen_id="s1", at=START, state="off", reason="hours"
            )
        )
        assert conn.execute(sa.select(POWER_EVENT.c.sync_seq)).scalar() == 1
    downgrade(engine, "0006_release_id")
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        _insert_alert_play(conn, "alert")
    engine.dispose()


def test_power_events_are_written_by_the_store_writer_and_synced(store: StoreWriter) -> None:
    off = PowerEvent("s1", START, "off", "hours")
    store.write_power_event(off)
    store.write_power_event(PowerEvent("s1", START + timedelta(hours=11), "on", "hours"))
    store.write_power_event(PowerEvent("s1", START, "dim", "hours"))  # type: ignore[arg-type]
    assert store.flush(10)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(POWER_EVENT).order_by(POWER_EVENT.c.at)).all()
    assert [(r.state, r.reason, r.at, r.sync_seq) for r in rows] == [
        ("off", "hours", START, 1),
        ("on", "hours", START + timedelta(hours=11), 2),
    ]
    assert str(rows[0].event_id) == off.event_id
    assert store.stats().rejected == 1, "a bad state is reported, not stored"
    assert "power_event" in {t.name for t in synced_tables()}


def test_alert_plays_are_stored_and_left_out_of_reports_and_the_dashboard(
    tmp_path: Path, store: StoreWriter
) -> None:
    directives = FakeDirectives()
    rig = Rig(tmp_path, directives, sink=store)
    rig.run_for(12.0)
    directives.alerts = (alert(at=rig.clock.now_utc()),)
    rig.run_for(20.0)
    directives.alerts = ()
    rig.run_for(12.0)
    rig.loop.interrupt("player stopped")
    assert store.flush(10)
    with store.engine.begin() as conn:  # an alert play a crash left open, then closed as interrupted
        _insert_alert_play(conn, None)
        repair_open_plays(conn, "s1")
    assert store.flush(10)
    with store.engine.connect() as conn:
        plays = [row_to_play(r) for r in conn.execute(sa.select(PLAY))]
    alerts = [p for p in plays if p.ad_id.startswith("alert:")]
    assert sorted(str(p.outcome) for p in alerts) == ["alert", "interrupted"]
    ads = [p for p in plays if not p.ad_id.startswith("alert:")]
    counted = [p for p in ads if p.outcome in (PlayOutcome.COMPLETED, PlayOutcome.INTERRUPTED)]
    assert counted
    day = START.date()
    report = build_report(
        store.engine, ReportFilter(date_from=day, date_to=day), ZoneInfo("UTC"), now=datetime.now(UTC)
    )
    assert report.total.plays == len(counted)
    assert {a.ad_id for a in report.ads} == {p.ad_id for p in counted}
    assert ("", "") not in campaigns_of(store.engine, None)
    assert not campaign_exists(store.engine, "", None)
    assert campaign_exists(store.engine, counted[0].campaign, None)
    alert_only = build_report(store.engine, ReportFilter(ad_id="alert:fire"), ZoneInfo("UTC"), now=START)
    assert alert_only.empty
