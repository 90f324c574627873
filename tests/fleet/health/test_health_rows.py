"""The facts of fleet health read from a real central PostgreSQL (registry, status, plays, power)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from health_helpers import LIMITS, T0, status
from sqlalchemy.engine import Engine

from signage.clock import FakeClock
from signage.fleet.central.health import fleet_health
from signage.fleet.central.health_monitor import (
    HealthMonitor,
    RecordingHealthPublisher,
    database_loader,
    serve_monitor,
)
from signage.fleet.central.health_rows import expected_release, fleet_facts, has_registry, newest_release_ids
from signage.fleet.central.migrate import upgrade as central_upgrade
from signage.fleet.central.registry import add_group, add_screen, add_store
from signage.fleet.central.releases import insert_release
from signage.fleet.central.status_table import store_status
from signage.fleet.central.uplink_api import screenshot_path, write_atomically
from signage.fleet.power_table import POWER_EVENT
from signage.fleet.protocol import ReleaseFile
from signage.fleet.uplink_protocol import PNG_MAGIC
from signage.settings import FleetHealthSettings, FleetSettings, Settings
from signage.store.engine import make_engine
from signage.store.migrate import upgrade as store_upgrade
from signage.store.models import PLAY

pytestmark = pytest.mark.postgres
CATALOG = ReleaseFile("catalog.yaml", "a" * 64, 10)


@pytest.fixture
def central(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def register(engine: Engine) -> None:
    with engine.begin() as conn:
        add_store(conn, "paris-1", "Paris", "Europe/Paris", T0 - timedelta(days=3))
        for name, region in (("s1", "north"), ("s2", "north"), ("s3", "south")):
            add_screen(conn, name, "paris-1", T0 - timedelta(days=3), tags={"region": region})
        add_group(conn, "north", T0, selector={"region": "north"})
        add_group(conn, "south", T0, selector={"region": "south"})
        add_group(conn, "promo", T0, members=["s2"])


def add_play(engine: Engine, screen_id: str, started_min_ago: float, ad_id: str = "ad-a") -> None:
    started = T0 - timedelta(minutes=started_min_ago)
    with engine.begin() as conn:
        conn.execute(
            PLAY.insert().values(
                play_id=uuid.uuid4(),
                screen_id=screen_id,
                ad_id=ad_id,
                advertiser="A",
                campaign="camp-a",
                started_at=started,
                ended_at=started + timedelta(seconds=15),
                planned_s=15.0,
                actual_s=15.0,
                outcome="completed",
            )
        )


def test_facts_of_every_screen_from_the_central_tables(central: Engine, tmp_path: Path) -> None:
    with central.connect() as conn:
        assert not has_registry(conn)
    central_upgrade(central)
    store_upgrade(central)
    with central.connect() as conn:
        assert has_registry(conn)
    register(central)
    insert_release(central, "north", [CATALOG], "first", T0)
    insert_release(central, "south", [CATALOG], "first", T0)
    insert_release(central, "north", [CATALOG], "second", T0)
    insert_release(central, "promo", [CATALOG], "promo", T0)  # the last publish wins for s2
    with central.begin() as conn:
        store_status(
            conn,
            status(T0 - timedelta(minutes=1), release_id="north#1", plays=2, camera_covered=True),
            "s1",
            T0,
        )
        store_status(conn, status(T0, release_id="promo#1", playing=None, camera_online=False), "s2", T0)
        conn.execute(
            POWER_EVENT.insert().values(
                event_id=uuid.uuid4(),
                screen_id="s2",
                at=T0 - timedelta(minutes=40),
                state="on",
                reason="hours",
            )
        )
    for minutes in (10, 50, 70):
        add_play(central, "s1", minutes)
    add_play(central, "s2", 90)
    write_atomically(screenshot_path(tmp_path, "s1"), PNG_MAGIC + b"\x00\x00\x00\x0dIHDR")

    with central.connect() as conn:
        newest = newest_release_ids(conn)
        facts = {f.screen_id: f for f in fleet_facts(conn, T0, tmp_path)}
    assert {g: rid for g, (_, rid) in newest.items()} == {
        "north": "north#2",
        "south": "south#1",
        "promo": "promo#1",
    }
    assert expected_release(("north", "promo"), newest) == "promo#1"
    assert facts["s1"].groups == ("north",) and facts["s2"].groups == ("north", "promo")
    assert facts["s1"].plays_last_hour == 2
    assert facts["s1"].last_play_utc == T0 - timedelta(minutes=10) + timedelta(seconds=15)
    assert facts["s1"].screenshot_utc is not None and facts["s2"].screenshot_utc is None
    assert facts["s2"].powered_on_utc == T0 - timedelta(minutes=40)
    assert facts["s3"].status is None

    health = {h.screen_id: h for h in fleet_health(facts.values(), T0, LIMITS)}
    assert health["s1"].online and health["s1"].old_release and health["s1"].expected_release_id == "north#2"
    assert health["s1"].camera == "covered" and health["s1"].conditions == {"camera_covered"}
    assert health["s2"].release_current and health["s2"].camera == "offline"
    # s2 was switched on 40 minutes ago and played last 90 minutes ago: standby only for 40 min.
    assert health["s2"].standby_for == timedelta(minutes=40)
    assert health["s2"].conditions == {"camera_offline", "standby_only"}
    assert health["s3"].conditions == {"silent"}


def test_the_monitor_on_the_database(central: Engine) -> None:
    central_upgrade(central)  # no store tables: plays and power events are simply not counted
    register(central)
    with central.begin() as conn:
        store_status(conn, status(T0), "s1", T0)
    clock = FakeClock(start_utc=T0)
    publisher = RecordingHealthPublisher()
    monitor = HealthMonitor(database_loader(central, LIMITS), publisher, clock, topic_prefix="acme")
    assert sorted((e.screen_id, e.condition) for e in monitor.check()) == [("s2", "silent"), ("s3", "silent")]
    clock.advance(6 * 60)
    assert [(e.screen_id, e.condition, e.state) for e in monitor.check()] == [("s1", "silent", "began")]
    assert len(publisher.sent) == 3


def test_serve_monitor_reads_the_settings_and_logs_without_a_broker(
    central: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    central_upgrade(central)
    register(central)
    settings = Settings(
        fleet=FleetSettings(health=FleetHealthSettings(silent_after_min=1, check_interval_s=3600))
    )
    caplog.set_level(logging.INFO, logger="signage.fleet.central.health_monitor")
    monitor = serve_monitor(central, settings, None, "acme", tmp_path)
    try:
        deadline = threading.Event()
        for _ in range(200):  # the first look runs at once on the monitor's thread
            if len(monitor.conditions) == 3:
                break
            deadline.wait(0.05)
    finally:
        monitor.stop_and_join()
    # Registered three days ago (T0 - 3 days), never heard from: silent, each once.
    assert monitor.conditions == {s: {"silent"} for s in ("s1", "s2", "s3")}
    messages = [r.getMessage() for r in caplog.records]
    assert "fleet health: no MQTT broker (feed.mqtt_url): health alerts are only logged" in messages
    assert sum("is silent: it never sent a heartbeat" in m for m in messages) == 3
