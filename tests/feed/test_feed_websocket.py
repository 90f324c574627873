"""The feed on the local WebSocket delivers what MQTT delivers, in the same order."""

from __future__ import annotations

import json

import pytest
from feed_helpers import BROKER, check_anonymous, clear_retained, person, scene, subscribed, unique_screen
from websockets.sync.client import connect

from signage.domain import PlayOutcome
from signage.feed import AudienceFeed, FeedHub
from signage.feed.mqtt import Broker, MqttSink, broker_answers
from signage.feed.websocket import WebSocketSink
from signage.testing.waiting import wait_for

A, B = 4101, 4202


def drive(feed: AudienceFeed) -> None:
    from test_feed_observer import play

    feed.play_started(play(), scene(1.0, person(A, 1.0, 1.0)))
    feed.audience_sample(scene(1.5, person(A, 1.5, 1.0), person(B, 1.5, 1.5)))
    feed.audience_sample(scene(2.0, person(B, 2.0, 1.5)))
    feed.play_ended(play(outcome=PlayOutcome.COMPLETED), scene(2.5))


def test_the_websocket_starts_with_the_status_and_carries_every_event() -> None:
    screen = unique_screen()
    base = f"signage/{screen}/audience"
    ws = WebSocketSink("127.0.0.1", 0, f"{base}/status", screen)
    hub = FeedHub([ws], base)
    hub.start()
    try:
        with connect(ws.url, open_timeout=10) as client:
            status = json.loads(client.recv(timeout=10))
            assert status["topic"] == f"{base}/status" and status["status"] == "online"
            drive(AudienceFeed(hub, screen, max_updates_per_s=100.0))
            docs = [json.loads(client.recv(timeout=10)) for _ in range(8)]
    finally:
        hub.close()
    assert [d["event"] for d in docs] == [
        "track.enter", "play.start", "track.update", "track.enter",
        "track.leave", "track.update", "track.leave", "play.end",
    ]  # fmt: skip
    assert all(d["topic"] == f"{base}/{d['event'].replace('.', '/')}" for d in docs)
    for doc in [status, *docs]:
        check_anonymous(doc, (A, B))


@pytest.mark.skipif(not broker_answers(*BROKER), reason="needs the Mosquitto broker at 127.0.0.1:1883")
def test_websocket_and_mqtt_deliver_the_same_messages() -> None:
    screen = unique_screen()
    base = f"signage/{screen}/audience"
    try:
        with subscribed(f"{base}/#") as sub:
            mqtt = MqttSink(Broker(*BROKER), f"{base}/status", screen)
            assert wait_for(lambda: mqtt.connected)
            sub.until(lambda m: m.topic.endswith("/status"))
            ws = WebSocketSink("127.0.0.1", 0, f"{base}/status", screen)
            hub = FeedHub([mqtt, ws], base)
            hub.start()
            try:
                with connect(ws.url, open_timeout=10) as client:
                    json.loads(client.recv(timeout=10))  # the status: the client is registered
                    drive(AudienceFeed(hub, screen, max_updates_per_s=100.0))
                    over_ws = [json.loads(client.recv(timeout=10)) for _ in range(8)]
                over_mqtt = [m.doc for m in sub.take(8)]
            finally:
                hub.close()
    finally:
        clear_retained(f"{base}/status")
    assert [{k: v for k, v in d.items() if k != "topic"} for d in over_ws] == over_mqtt


def test_a_client_that_leaves_is_forgotten_and_the_others_go_on() -> None:
    screen = unique_screen()
    ws = WebSocketSink("127.0.0.1", 0, "signage/x/audience/status", screen)
    hub = FeedHub([ws], "signage/x/audience")
    hub.start()
    feed = AudienceFeed(hub, screen, max_updates_per_s=100.0)
    try:
        with connect(ws.url, open_timeout=10) as stays:
            stays.recv(timeout=10)
            with connect(ws.url, open_timeout=10) as leaves:
                leaves.recv(timeout=10)
                assert wait_for(lambda: ws.clients() == 2)
            assert wait_for(lambda: ws.clients() == 1)
            feed.audience_sample(scene(1.0, person(A, 1.0, 1.0)))
            assert json.loads(stays.recv(timeout=10))["event"] == "track.enter"
    finally:
        hub.close()
    assert ws.clients() == 0
