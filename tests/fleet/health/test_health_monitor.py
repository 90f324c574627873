"""The monitor: one log line and one MQTT alert per transition, none while a state lasts; a broker
or a database that is away is reported once and never stops it."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from health_helpers import LIMITS, heard

from signage.clock import FakeClock
from signage.feed.mqtt import Broker, broker_answers
from signage.fleet.central.health import ScreenFacts, ScreenHealth, fleet_health
from signage.fleet.central.health_monitor import (
    HealthMonitor,
    MqttHealthPublisher,
    RecordingHealthPublisher,
)
from signage.fleet.protocol import health_topic

PREFIX = "acme"


class Fleet:
    """In-memory rows: each screen's facts, changed by the test; ``load`` is the monitor's view."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.facts: dict[str, ScreenFacts] = {}
        self.down = False

    def beat(self, screen_id: str, **kw: Any) -> None:
        self.facts[screen_id] = heard(self.clock.now_utc(), screen_id, **kw)

    def load(self, now: datetime) -> Sequence[ScreenHealth]:
        if self.down:
            raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))
        return fleet_health(self.facts.values(), now, LIMITS)


def monitor_on(fleet: Fleet, publisher: Any) -> HealthMonitor:
    return HealthMonitor(fleet.load, publisher, fleet.clock, topic_prefix=PREFIX, interval_s=30)


def published(publisher: RecordingHealthPublisher) -> list[tuple[str, str, str]]:
    docs = [json.loads(payload) for _, payload in publisher.sent]
    return [(d["screen_id"], d["condition"], d["state"]) for d in docs]


def test_each_transition_is_logged_and_published_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    fleet = Fleet(clock)
    publisher = RecordingHealthPublisher()
    monitor = monitor_on(fleet, publisher)
    fleet.beat("s1")
    fleet.beat("s2")
    caplog.set_level(logging.INFO, logger="signage.fleet.central.health_monitor")
    assert monitor.check() == []
    for _ in range(3):  # s2 stops beating; s1 goes on
        clock.advance(180)
        fleet.beat("s1")
        monitor.check()
    assert published(publisher) == [("s2", "silent", "began")]
    assert {topic for topic, _ in publisher.sent} == {health_topic(PREFIX)} == {"acme/fleet/health"}
    fleet.beat("s2", camera_online=False)
    monitor.check()
    monitor.check()
    assert published(publisher)[1:] == [("s2", "silent", "ended"), ("s2", "camera_offline", "began")]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "fleet health: screen s2 (store paris-1) is silent: no heartbeat for 6 min (last 2026-11-21 09:00Z)",
        "fleet health: screen s2 (store paris-1) is heard from again",
        "fleet health: screen s2 (store paris-1): its camera is offline",
    ]
    assert monitor.conditions == {"s1": frozenset(), "s2": {"camera_offline"}}


def test_a_database_outage_is_logged_once_and_the_state_survives_it(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    fleet = Fleet(clock)
    publisher = RecordingHealthPublisher()
    monitor = monitor_on(fleet, publisher)
    fleet.beat("s1", camera_covered=True)
    monitor.check()
    fleet.down = True
    caplog.set_level(logging.INFO, logger="signage.fleet.central.health_monitor")
    caplog.clear()
    assert monitor.check() == [] and monitor.check() == []
    fleet.down = False
    assert monitor.check() == [], "the covered camera was already reported"
    assert [r.getMessage().split(":")[0:2] for r in caplog.records] == [
        ["fleet health", " cannot read the central database"],
        ["fleet health", " the central database answers again"],
    ]
    assert published(publisher) == [("s1", "camera_covered", "began")]


def test_the_thread_looks_at_once_and_stops() -> None:
    clock = FakeClock()
    fleet = Fleet(clock)
    fleet.facts["s9"] = heard(clock.now_utc() - timedelta(hours=1), "s9")
    publisher = RecordingHealthPublisher()
    looked = threading.Event()

    def load(now: datetime) -> Sequence[ScreenHealth]:
        try:
            return fleet.load(now)
        finally:
            looked.set()

    monitor = HealthMonitor(load, publisher, clock, topic_prefix=PREFIX, interval_s=3600)
    monitor.start()
    try:
        assert looked.wait(10)
    finally:
        monitor.stop_and_join()
    assert published(publisher) == [("s9", "silent", "began")]


BROKER = ("127.0.0.1", 1883)


@pytest.mark.skipif(not broker_answers(*BROKER), reason="needs the Mosquitto broker at 127.0.0.1:1883")
def test_a_monitoring_subscriber_on_mosquitto_receives_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    prefix = f"test-health-{uuid.uuid4().hex[:10]}"
    received: list[dict[str, Any]] = []
    subscribed, arrived = threading.Event(), threading.Event()
    subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"monitoring-{uuid.uuid4().hex[:8]}")

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        received.append(json.loads(message.payload))
        arrived.set()

    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *_args: subscribed.set()
    subscriber.on_connect = lambda client, *_args: client.subscribe(health_topic(prefix), qos=1)
    subscriber.connect(*BROKER)
    subscriber.loop_start()
    publisher = MqttHealthPublisher(Broker(*BROKER))
    try:
        assert subscribed.wait(10), "the subscriber did not get its subscription"
        clock = FakeClock()
        fleet = Fleet(clock)
        fleet.beat("s1", camera_online=False)
        monitor = HealthMonitor(fleet.load, publisher, clock, topic_prefix=prefix)
        (event,) = monitor.check()
        assert arrived.wait(10), "no health alert reached the subscriber"
        assert publisher.connected
    finally:
        publisher.close()
        subscriber.disconnect()
        subscriber.loop_stop()
    assert received == [event.to_json()]
    assert not publisher.away.is_set(), "closing the publisher is not a broker outage"
    assert not [r for r in caplog.records if "is away" in r.getMessage()]
    assert received[0]["condition"] == "camera_offline" and received[0]["state"] == "began"


def test_a_broker_that_is_down_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="signage.fleet.central.health_monitor")
    publisher = MqttHealthPublisher(Broker("127.0.0.1", 9))  # the discard port: nothing listens
    try:
        publisher.publish_health("acme/fleet/health", b"{}")
        assert publisher.away.wait(10), "the failed connection was not noticed"
        for _ in range(3):
            publisher.publish_health("acme/fleet/health", b"{}")
    finally:
        publisher.close()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith("fleet health: the broker mqtt://127.0.0.1:9 is away")
