"""The central server's health monitor: every ``check_interval_s`` it looks at every screen and, on
each transition (a screen goes silent, its camera goes offline or covered, it shows only the
standby slide; and each recovery), logs one line and publishes a ``health.HealthEvent`` on
``protocol.health_topic(prefix)`` (QoS 1, not retained: every transition is news once).

Monitoring is best effort: a broker that is down is logged once (and once when it is back), the
events meanwhile wait in paho's bounded queue; a database error is logged once per outage and the
next look tries again. Nothing here stops the HTTP server.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from signage.clock import Clock, SystemClock
from signage.feed.mqtt import Broker
from signage.fleet.central.health import (
    Condition,
    HealthEvent,
    HealthLimits,
    ScreenHealth,
    fleet_health,
    transitions,
)
from signage.fleet.central.health_rows import fleet_facts
from signage.fleet.protocol import health_topic
from signage.settings import Settings
from signage.store.sql import one_line

log = logging.getLogger(__name__)


class HealthPublisher(Protocol):
    def publish_health(self, topic: str, payload: bytes) -> None:
        """Send one event; never raises (a broker away is the publisher's to report)."""
        ...

    def close(self) -> None: ...


class RecordingHealthPublisher:
    """The fake: keeps every (topic, payload)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish_health(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))

    def close(self) -> None:
        pass


class LogOnlyPublisher:
    """Without a broker: the monitor's log lines are the only alerts."""

    def publish_health(self, topic: str, payload: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class MqttHealthPublisher:
    """One paho client for the monitor's life: connects in the background, reconnects by itself."""

    def __init__(self, broker: Broker, max_queued: int = 1000) -> None:
        import paho.mqtt.client as mqtt

        self.broker = broker
        self.connected = False
        self._down_reported = False
        self._closing = False
        self.away = threading.Event()  # set once the broker is known to be away (for tests)
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"signage-health-{secrets.token_hex(6)}"
        )
        self._client.disable_logger()
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.connect_timeout = 3.0
        broker.authenticate(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.connect_async(broker.host, broker.port, keepalive=30)
        self._client.loop_start()

    def _report_down(self, why: str) -> None:
        with self._lock:
            if self._down_reported or self._closing:
                return
            self._down_reported = True
        self.away.set()
        log.warning(
            "fleet health: the broker %s is away (%s); alerts wait for it", self.broker.describe(), why
        )

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason_code: Any, _p: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            self._report_down(f"it refused the connection: {reason_code}")
            return
        self.connected = True
        with self._lock:
            was_down, self._down_reported = self._down_reported, False
            self.away.clear()
        if was_down:
            log.info("fleet health: the broker %s is back", self.broker.describe())

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason_code: Any, _p: Any) -> None:
        self.connected = False
        self._report_down(f"disconnected: {reason_code}")

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self._report_down("the connection failed")

    def publish_health(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=False)
        if info.rc not in (0, 4):  # 4: MQTT_ERR_NO_CONN, queued until the broker is back
            self._report_down(f"paho error {info.rc}")

    def close(self) -> None:
        with self._lock:
            self._closing = True  # our own disconnect is no outage
        self._client.disconnect()
        self._client.loop_stop()


class HealthMonitor:
    """Looks at the fleet (``load(now)``) and publishes each condition's beginning and end."""

    def __init__(
        self,
        load: Callable[[datetime], Sequence[ScreenHealth]],
        publisher: HealthPublisher,
        clock: Clock,
        *,
        topic_prefix: str,
        interval_s: float = 30.0,
    ) -> None:
        self._load = load
        self._publisher = publisher
        self._clock = clock
        self._topic = health_topic(topic_prefix)
        self._interval_s = interval_s
        self._state: dict[str, frozenset[Condition]] = {}
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def conditions(self) -> dict[str, frozenset[Condition]]:
        """screen -> the conditions in force at the last look."""
        return dict(self._state)

    def check(self) -> list[HealthEvent]:
        """One look: the transitions since the last look, each logged and published."""
        now = self._clock.now_utc()
        try:
            healths = self._load(now)
        except sa.exc.SQLAlchemyError as exc:
            if not self._failing:
                log.warning("fleet health: cannot read the central database: %s", one_line(exc))
            self._failing = True
            return []
        if self._failing:
            log.info("fleet health: the central database answers again")
            self._failing = False
        events, self._state = transitions(self._state, healths, now)
        for event in events:
            (log.warning if event.state == "began" else log.info)("fleet health: %s", event.message)
            self._publisher.publish_health(self._topic, event.payload())
        return events

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-health", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.check()
            except Exception:  # a bug in one look must not end monitoring
                log.exception("fleet health: a look at the fleet failed")
            if self._stop.wait(self._interval_s):
                return

    def stop_and_join(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._publisher.close()


def database_loader(
    engine: Engine, limits: HealthLimits, blob_root: Path | None = None
) -> Callable[[datetime], Sequence[ScreenHealth]]:
    """``load(now)`` over the central database, for ``HealthMonitor``."""

    def load(now: datetime) -> Sequence[ScreenHealth]:
        with engine.connect() as conn:
            return fleet_health(fleet_facts(conn, now, blob_root), now, limits)

    return load


def start_monitor(
    engine: Engine,
    limits: HealthLimits,
    *,
    mqtt_url: str | None,
    topic_prefix: str,
    clock: Clock,
    interval_s: float,
    blob_root: Path | None = None,
) -> HealthMonitor:
    """The running monitor of ``signage fleet serve``; without a broker it still logs transitions."""
    publisher: HealthPublisher
    if mqtt_url is None:
        log.info("fleet health: no MQTT broker (feed.mqtt_url): health alerts are only logged")
        publisher = LogOnlyPublisher()
    else:
        publisher = MqttHealthPublisher(Broker.from_url(mqtt_url))
    monitor = HealthMonitor(
        database_loader(engine, limits, blob_root),
        publisher,
        clock,
        topic_prefix=topic_prefix,
        interval_s=interval_s,
    )
    monitor.start()
    return monitor


def serve_monitor(
    engine: Engine, settings: Settings, mqtt_url: str | None, topic_prefix: str | None, blob_root: Path
) -> HealthMonitor:
    """The monitor ``signage fleet serve`` runs beside the API, from ``fleet.health`` and ``feed``."""
    health = settings.fleet.health
    return start_monitor(
        engine,
        HealthLimits.from_settings(health),
        mqtt_url=mqtt_url,
        topic_prefix=topic_prefix or settings.feed.topic_prefix,
        clock=SystemClock(),
        interval_s=health.check_interval_s,
        blob_root=blob_root,
    )
