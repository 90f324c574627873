"""Push wakes the poll: commands on the real Mosquitto broker at 127.0.0.1:1883, a unique prefix each."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from agent_helpers import SCREEN, make_agent, publish, release_files

from signage.feed.mqtt import Broker, broker_answers
from signage.fleet.agent.fake import FakeFleetClient
from signage.fleet.agent.mqtt import MqttWake
from signage.fleet.protocol import Command, group_topic, screen_topic

BROKER = ("127.0.0.1", 1883)
pytestmark = pytest.mark.skipif(
    not broker_answers(*BROKER), reason="needs the Mosquitto broker at 127.0.0.1:1883"
)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def send(topic: str, payload: bytes, *, retain: bool = False) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5.0)
    finally:
        client.disconnect()
        client.loop_stop()


def command(kind: str = "release", release_id: str | None = "north#2") -> bytes:
    doc = Command(kind, release_id, datetime(2026, 11, 21, 9, 0, tzinfo=UTC)).to_json()  # type: ignore[arg-type]
    return json.dumps(doc).encode()


def test_a_command_on_the_screen_or_any_group_topic_wakes_the_agent(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    agent.poll_interval_s = 3600.0  # no timed poll in this test: only a wake-up can cause one
    agent.start()
    wake = MqttWake(
        Broker(*BROKER), prefix, SCREEN, lambda _cmd: agent.wake(), client_id=f"t-{uuid.uuid4().hex}"
    )
    try:
        assert wait_for(lambda: wake.subscribed and store.current_release_id() == "north#1")
        publish(client, 2, release_files("summer"))
        send(screen_topic(prefix, SCREEN), command())
        assert wait_for(lambda: store.current_release_id() == "north#2")
        polls = client.polls
        send(group_topic(prefix, "some-other-group"), command("alert", None))
        assert wait_for(lambda: client.polls == polls + 1)
        assert wait_for(lambda: client.not_modified >= 1)  # not ours: one cheap 304
        send(screen_topic(prefix, SCREEN), b"{not json")
        send(screen_topic(prefix, SCREEN), command("collect", None))
        assert wait_for(lambda: wake.commands == 3)  # the garbage was ignored, the rest counted
    finally:
        wake.close()
        agent.stop_and_join()
    assert not agent._thread.is_alive()


def test_commands_sent_while_the_screen_was_off_arrive_when_it_connects() -> None:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    client_id = f"t-{uuid.uuid4().hex}"
    got: list[Command] = []
    first = MqttWake(Broker(*BROKER), prefix, SCREEN, got.append, client_id=client_id)
    assert wait_for(lambda: first.subscribed)
    first.close()
    send(screen_topic(prefix, SCREEN), command("screenshot", None))  # nobody connected: queued
    again = MqttWake(Broker(*BROKER), prefix, SCREEN, got.append, client_id=client_id)
    try:
        assert wait_for(lambda: [c.kind for c in got] == ["screenshot"])
    finally:
        again.close()
