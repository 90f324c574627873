"""The feed's one background thread: a bounded queue between the loop and the transports.

``put`` never blocks and never raises: when the queue is full the oldest message is dropped and
counted (one warning when dropping starts, one line when it stops). The thread hands each message
to every sink (MQTT, WebSocket); a sink that raises is reported once and the others go on.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Protocol

from signage.feed.messages import FeedMessage

log = logging.getLogger(__name__)


class FeedSink(Protocol):
    """A transport: ``send`` should return quickly (it runs on the hub's thread, not the loop's)."""

    name: str

    def send(self, topic: str, message: FeedMessage) -> None: ...

    def close(self) -> None: ...


class RecordingSink:
    """The fake transport: keeps (topic, message) in memory."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[str, FeedMessage]] = []
        self.closed = False

    def send(self, topic: str, message: FeedMessage) -> None:
        self.sent.append((topic, message))

    def close(self) -> None:
        self.closed = True


def topic_segment(screen_id: str) -> str:
    """A screen id as one MQTT topic level (``/``, ``+`` and ``#`` would change the topic's meaning)."""
    return "".join("_" if c in "/+#" else c for c in screen_id)


class FeedHub:
    """Queue + thread + sinks; topics are ``<prefix>/<screen>/audience/<subtopic>``."""

    def __init__(self, sinks: list[FeedSink], base_topic: str, max_messages: int = 1000) -> None:
        if max_messages < 1:
            raise ValueError(f"the feed queue needs room for at least one message, got {max_messages}")
        self.sinks = list(sinks)
        self.base_topic = base_topic.rstrip("/")
        self._queue: deque[FeedMessage] = deque(maxlen=max_messages)
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dropping = False
        self._failing: set[str] = set()
        self.dropped = 0
        self.delivered = 0

    def topic(self, subtopic: str) -> str:
        return f"{self.base_topic}/{subtopic}"

    def put(self, message: FeedMessage) -> None:
        with self._wake:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1  # deque(maxlen) drops the oldest on append
                if not self._dropping:
                    self._dropping = True
                    log.warning("audience feed: the queue is full, dropping the oldest messages")
            self._queue.append(message)
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audience-feed", daemon=True)
        self._thread.start()

    def _take(self) -> FeedMessage | None:
        with self._wake:
            while not self._queue and not self._stop.is_set():
                self._wake.wait(0.5)
            if not self._queue:
                return None
            message = self._queue.popleft()
            if not self._queue and self._dropping:
                self._dropping = False
                log.info("audience feed: the queue drained (%d message(s) dropped so far)", self.dropped)
            return message

    def _run(self) -> None:
        while True:
            message = self._take()
            if message is None:
                return
            self._deliver(message)

    def _deliver(self, message: FeedMessage) -> None:
        topic = self.topic(message.subtopic)
        for sink in self.sinks:
            try:
                sink.send(topic, message)
            except Exception as exc:  # a transport must never take the feed (or the loop) down
                if sink.name not in self._failing:
                    self._failing.add(sink.name)
                    log.warning("audience feed: %s failed (%s); it is retried per message", sink.name, exc)
            else:
                self._failing.discard(sink.name)
        self.delivered += 1

    def close(self, timeout_s: float = 2.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), stop the thread, close the sinks."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("audience feed: a transport is stuck; %d message(s) not sent", self.pending())
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:
                log.warning("audience feed: closing %s failed: %s", sink.name, exc)
