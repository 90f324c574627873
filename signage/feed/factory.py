"""Build the live audience feed from ``settings.feed``, or say in one line why it is off."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from signage.feed.hub import FeedHub, FeedSink, topic_segment
from signage.feed.messages import STATUS
from signage.feed.mqtt import Broker, MqttSink, broker_answers
from signage.feed.observer import AudienceFeed
from signage.settings import Settings

log = logging.getLogger(__name__)

LOCAL_BROKER = Broker("127.0.0.1", 1883)


@dataclass
class LiveFeed:
    """The observer the loop calls, and the thread and transports behind it."""

    observer: AudienceFeed
    hub: FeedHub

    def close(self) -> None:
        self.observer.close()  # everyone still present leaves
        self.hub.close()


def base_topic(settings: Settings) -> str:
    return f"{settings.feed.topic_prefix}/{topic_segment(settings.screen_id)}/audience"


def choose_broker(settings: Settings, probe_local: bool) -> tuple[Broker | None, str]:
    """The broker to publish to (None: the feed is off) and the sentence that says why."""
    feed = settings.feed
    if feed.enabled == "off":
        return None, "audience feed off (feed.enabled is off)"
    if feed.mqtt_url:
        return Broker.from_url(feed.mqtt_url), "configured"
    if feed.enabled == "on":
        return LOCAL_BROKER, "no broker configured (feed.mqtt_url), so the local one"
    if not probe_local:
        return None, "audience feed off: no MQTT broker configured (feed.mqtt_url)"
    if broker_answers(LOCAL_BROKER.host, LOCAL_BROKER.port):
        return LOCAL_BROKER, "no broker configured, one answers at 127.0.0.1:1883"
    return (
        None,
        "audience feed off: no MQTT broker configured (feed.mqtt_url) and none answers at 127.0.0.1:1883",
    )


def open_feed(settings: Settings, probe_local: bool = False) -> LiveFeed | None:
    """The running feed, or None; logs one line either way. ``probe_local``: the demo's auto mode."""
    broker, why = choose_broker(settings, probe_local)
    if broker is None:
        log.info("%s", why)
        return None
    feed = settings.feed
    topic = base_topic(settings)
    status_topic = f"{topic}/{STATUS}"
    sinks: list[FeedSink] = []
    where = []
    try:
        sinks.append(MqttSink(broker, status_topic, settings.screen_id, max_queued=feed.queue_max_messages))
        where.append(f"MQTT {broker.describe()} under {topic}/")
    except Exception as exc:  # a TLS setup that fails, a paho that cannot start: the player goes on
        log.error("audience feed: MQTT to %s not started: %s", broker.describe(), exc)
    if feed.websocket_port is not None:
        try:
            from signage.feed.websocket import WebSocketSink

            ws = WebSocketSink(feed.websocket_host, feed.websocket_port, status_topic, settings.screen_id)
            sinks.append(ws)
            where.append(f"WebSocket {ws.url}")
        except OSError as exc:  # the port is taken
            log.error(
                "audience feed: no WebSocket on %s:%d: %s", feed.websocket_host, feed.websocket_port, exc
            )
    if not sinks:
        return None
    hub = FeedHub(sinks, topic, max_messages=feed.queue_max_messages)
    hub.start()
    observer = AudienceFeed(
        hub,
        settings.screen_id,
        max_updates_per_s=feed.max_updates_per_s,
        estimate_emotion=settings.perception.estimate_emotion,
        reentry_window_s=settings.perception.reentry_window_s,
    )
    prefix = "" if why == "configured" else f"{why}: "
    log.info("audience feed: %spublishing on %s", prefix, " and ".join(where))
    return LiveFeed(observer, hub)
