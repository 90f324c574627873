"""The push side: an MQTT command wakes the agent's poll (docs/fleet.md, "Pull is the truth").

The screen does not know its groups, so it subscribes to its own command topic and to every
group's (``<prefix>/fleet/group/+/cmd``): a command for a group it is not in costs one cheap 304.
The session is persistent (``clean_session=False`` and a client id fixed per screen), so QoS 1
commands sent while the screen was off arrive when it connects. paho connects and reconnects on
its own thread: a broker that is down never blocks anything, and polling goes on without it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signage.feed.mqtt import Broker
from signage.fleet.protocol import Command, ProtocolError, screen_topic

log = logging.getLogger(__name__)


def command_topics(prefix: str, screen_id: str) -> tuple[str, str]:
    return (screen_topic(prefix, screen_id), f"{prefix}/fleet/group/+/cmd")


def wake_client_id(screen_id: str, data_dir: Path | None = None) -> str:
    """Stable per screen and data folder, so the broker keeps its session (and the commands queued
    while the screen was off) across restarts; two installs that share a screen id by mistake do not
    take each other's session."""
    if data_dir is None:
        return f"signage-fleet-{screen_id}"
    where = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"signage-fleet-{screen_id}-{where}"


class MqttWake:
    """Calls ``on_command`` for each valid fleet command on this screen's topics."""

    def __init__(
        self,
        broker: Broker,
        prefix: str,
        screen_id: str,
        on_command: Callable[[Command], None],
        *,
        client_id: str | None = None,
        keepalive_s: int = 30,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.broker = broker
        self.topics = command_topics(prefix, screen_id)
        self.connected = False
        self.subscribed = False  # the broker confirmed the subscriptions
        self.commands = 0
        self._on_command = on_command
        self._ever_connected = False
        self._closing = False
        self._bad_reported: str | None = None
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or wake_client_id(screen_id),
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self._client.disable_logger()
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.connect_timeout = 3.0
        broker.authenticate(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.connect_async(broker.host, broker.port, keepalive=keepalive_s)
        self._client.loop_start()

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        if getattr(reason_code, "is_failure", False):
            log.warning("fleet commands: %s refused the connection: %s", self.broker.describe(), reason_code)
            return
        with self._lock:
            if self._closing:
                return
            client.subscribe([(topic, 1) for topic in self.topics])
            self.connected = True
            log.info(
                "fleet commands: %s %s",
                "reconnected to" if self._ever_connected else "listening on",
                self.broker.describe(),
            )
            self._ever_connected = True

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: Any, reason_codes: Any, _props: Any) -> None:
        failed = [code for code in reason_codes if getattr(code, "is_failure", False)]
        if failed:
            log.warning("fleet commands: %s refused the subscription: %s", self.broker.describe(), failed[0])
        self.subscribed = not failed

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _props: Any
    ) -> None:
        if self.connected and not self._closing:
            log.warning(
                "fleet commands: lost %s (%s); polling goes on, reconnecting",
                self.broker.describe(),
                reason_code,
            )
        self.connected = False

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        import json

        if not message.payload:  # a retained command being cleared
            return
        try:
            command = Command.from_json(json.loads(message.payload))
        except (ValueError, ProtocolError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            why = f"{message.topic}: {exc}"
            if why != self._bad_reported:
                self._bad_reported = why
                log.warning("fleet commands: ignored a message that is not a command on %s", why)
            return
        self.commands += 1
        try:
            self._on_command(command)
        except Exception:  # paho's thread must go on
            log.exception("fleet commands: handling %s failed", command.kind)

    def close(self) -> None:
        """Disconnect (the broker keeps the session for the next start) and stop paho's thread."""
        with self._lock:
            self._closing = True
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False
