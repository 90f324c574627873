"""Pushing commands to screens: a retained QoS 1 MQTT message per group (docs/fleet.md, MQTT).

A push is only a hint (screens poll for the truth), so a broker that is down or refuses us is a
warning for the operator, never a failed publish: ``publish`` answers False with the reason.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from signage.feed.mqtt import Broker
from signage.fleet.protocol import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    ok: bool
    reason: str = ""  # why not, in one sentence


class CommandPublisher(Protocol):
    def publish(self, topic: str, command: Command, *, retain: bool = True) -> PushResult: ...


def command_payload(command: Command) -> bytes:
    return json.dumps(command.to_json(), sort_keys=True).encode("utf-8")


class MqttCommandPublisher:
    """Connects, publishes one retained QoS 1 message, waits for the broker's ack, disconnects."""

    def __init__(self, broker: Broker, timeout_s: float = 5.0) -> None:
        self.broker = broker
        self.timeout_s = timeout_s

    def publish(self, topic: str, command: Command, *, retain: bool = True) -> PushResult:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"signage-central-{secrets.token_hex(6)}"
        )
        client.disable_logger()
        client.connect_timeout = self.timeout_s
        connected = threading.Event()
        refused: list[str] = []

        def on_connect(_c: Any, _u: Any, _f: Any, reason_code: Any, _p: Any) -> None:
            if getattr(reason_code, "is_failure", False):
                refused.append(str(reason_code))
            connected.set()

        client.on_connect = on_connect
        where = self.broker.describe()
        try:
            self.broker.authenticate(client)
            client.connect(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as exc:
            return PushResult(False, f"the broker {where} cannot be reached ({exc})")
        client.loop_start()
        try:
            if not connected.wait(self.timeout_s):
                return PushResult(False, f"the broker {where} did not answer within {self.timeout_s:g} s")
            if refused:
                return PushResult(False, f"the broker {where} refused the connection ({refused[0]})")
            info = client.publish(topic, command_payload(command), qos=1, retain=retain)
            try:
                info.wait_for_publish(timeout=self.timeout_s)
            except (RuntimeError, ValueError) as exc:
                return PushResult(False, f"the broker {where} did not take the message ({exc})")
            if not info.is_published():
                return PushResult(False, f"the broker {where} did not confirm the message in time")
            return PushResult(True)
        finally:
            client.disconnect()
            client.loop_stop()


class RecordingPublisher:
    """The fake: keeps every (topic, command, retain) it was given; ``down`` makes it fail."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.sent: list[tuple[str, Command, bool]] = []

    def publish(self, topic: str, command: Command, *, retain: bool = True) -> PushResult:
        if self.down:
            return PushResult(False, "the broker is down (fake)")
        self.sent.append((topic, command, retain))
        return PushResult(True)


class MqttStatusRelay:
    """A long-lived connection that republishes screens' heartbeats (retained, QoS 1) for monitoring.

    paho connects and reconnects in its own thread; while the broker is away, messages wait in a
    bounded queue and the oldest are dropped, so a heartbeat never waits on the broker.
    """

    def __init__(self, broker: Broker, max_queued: int = 1000) -> None:
        import paho.mqtt.client as mqtt

        self.broker = broker
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"signage-central-status-{secrets.token_hex(4)}"
        )
        self._client.disable_logger()
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        broker.authenticate(self._client)
        self._client.connect_async(broker.host, broker.port, keepalive=30)
        self._client.loop_start()
        log.info("screen statuses are republished on %s", broker.describe())

    def publish_status(self, topic: str, payload: bytes) -> None:
        self._client.publish(topic, payload, qos=1, retain=True)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
