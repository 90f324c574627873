"""The feed on MQTT (paho-mqtt): a retained ``status`` with a last will, events under the screen's topic.

paho runs its own network thread (``loop_start``): it connects in the background and reconnects by
itself (1 s doubling to 30 s), so a broker that is down, slow or gone never blocks the caller.
While it is disconnected, QoS 0 messages (track updates) are dropped by paho and QoS 1 messages
wait in paho's bounded queue.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from signage.feed.broker import Broker
from signage.feed.messages import STATUS, FeedMessage, status_message

log = logging.getLogger(__name__)

__all__ = ["Broker", "MqttSink", "broker_answers"]  # Broker: re-exported for its importers


def broker_answers(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections there (the demo's check for a local broker)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class MqttSink:
    """Publishes feed messages to one broker; ``status`` online while connected, offline as last will."""

    name = "MQTT"

    def __init__(
        self, broker: Broker, status_topic: str, screen_id: str, max_queued: int = 1000, keepalive_s: int = 30
    ) -> None:
        import paho.mqtt.client as mqtt

        self.broker = broker
        self.status_topic = status_topic
        self.screen_id = screen_id
        self.connected = False
        self._ever_connected = False
        self._closing = False
        self._lock = threading.Lock()  # orders paho's connect callback against close()
        client_id = f"signage-{screen_id[:40]}-{secrets.token_hex(4)}"
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.disable_logger()  # paho logs an ERROR at every clean stop; transitions are logged here
        self._client.max_queued_messages_set(max_queued)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.connect_timeout = 3.0
        broker.authenticate(self._client)
        offline = status_message(screen_id, online=False)
        self._client.will_set(status_topic, offline.body, qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.connect_async(broker.host, broker.port, keepalive=keepalive_s)
        self._client.loop_start()

    # paho's callbacks run on paho's thread; they only log transitions and publish the status.
    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            log.warning("audience feed: %s refused the connection: %s", self.broker.describe(), reason_code)
            return
        with self._lock:
            if self._closing:
                return
            self.connected = True
            log.info(
                "audience feed: %s %s",
                "reconnected to" if self._ever_connected else "connected to",
                self.broker.describe(),
            )
            self._ever_connected = True
            online = status_message(self.screen_id, online=True, now=datetime.now(UTC))
            client.publish(self.status_topic, online.body, qos=1, retain=True)

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if self.connected and not self._closing:
            log.warning("audience feed: lost %s (%s); reconnecting", self.broker.describe(), reason_code)
        self.connected = False

    def send(self, topic: str, message: FeedMessage) -> None:
        if message.subtopic == STATUS:
            return  # the status is this sink's own business (connect and last will)
        qos = 0 if message.droppable else 1
        self._client.publish(topic, message.body, qos=qos, retain=message.retain)

    def close(self) -> None:
        """Say offline (retained), disconnect cleanly, stop paho's thread."""
        with self._lock:
            self._closing = True  # from here on paho's callbacks publish nothing
        if self.connected:
            offline = status_message(self.screen_id, online=False, now=datetime.now(UTC))
            info = self._client.publish(self.status_topic, offline.body, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not confirmed in time: go on
                info.wait_for_publish(timeout=1.0)
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False
