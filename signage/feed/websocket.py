"""The feed on a local WebSocket (``websockets``' threaded server), bound to 127.0.0.1 by default.

Every client receives every message as one JSON text frame: the MQTT payload with its ``topic``
added, the current ``status`` first. Each client has its own bounded queue, drained by its own
connection thread, so a slow client loses its oldest messages and slows nobody else down.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from signage.feed.messages import FeedMessage, status_message

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often an idle connection thread looks for new messages


def ws_text(topic: str, message: FeedMessage) -> str:
    return json.dumps({"topic": topic, **json.loads(message.body)}, separators=(",", ":"))


class _Client:
    def __init__(self, max_messages: int) -> None:
        self.items: deque[str] = deque(maxlen=max_messages)
        self.dropped = 0

    def put(self, text: str) -> None:
        if len(self.items) == self.items.maxlen:
            self.dropped += 1
        self.items.append(text)


class WebSocketSink:
    """Serves ``ws://host:port/`` (any path) until closed; ``port`` 0 picks a free one (``self.port``)."""

    name = "WebSocket"

    def __init__(
        self, host: str, port: int, status_topic: str, screen_id: str, max_messages_per_client: int = 1000
    ) -> None:
        from websockets.sync.server import serve

        self.status_topic = status_topic
        self.screen_id = screen_id
        self._max = max_messages_per_client
        self._clients: set[_Client] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = serve(self._handle, host, port, max_size=4096)
        self.host, self.port = self._server.socket.getsockname()[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="feed-websocket", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def send(self, topic: str, message: FeedMessage) -> None:
        text = ws_text(topic, message)
        with self._lock:
            for client in self._clients:
                client.put(text)

    def _handle(self, connection: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        client = _Client(self._max)
        status = status_message(self.screen_id, online=True, now=datetime.now(UTC))
        client.put(ws_text(self.status_topic, status))
        with self._lock:
            self._clients.add(client)
        try:
            while not self._stop.is_set():
                while client.items:
                    connection.send(client.items.popleft())
                with contextlib.suppress(TimeoutError):  # what a client says is ignored
                    connection.recv(timeout=POLL_S)  # ...but this notices when it leaves
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._clients.discard(client)

    def close(self) -> None:
        """Stop serving: clients see the connection close with code 1001 (going away)."""
        self._stop.set()
        self._server.shutdown()
        self._thread.join(2.0)
