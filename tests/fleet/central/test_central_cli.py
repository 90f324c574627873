"""`signage fleet ...` as an operator types it, against the real PostgreSQL and Mosquitto."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from signage.cli import app
from signage.fleet.protocol import Command, group_topic
from tests.fleet.central.conftest import Content

runner = CliRunner()
BROKER = "mqtt://127.0.0.1:1883"
pytestmark = pytest.mark.postgres


class Retained:
    """A subscriber that connects after the fact and keeps what the broker hands it."""

    def __init__(self, topic: str) -> None:
        self.messages: list[bytes] = []
        self.got = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.payload:
            self.messages.append(bytes(message.payload))
            self.got.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _clear_retained(topic: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=5)
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def fleet_cli(pg_url: str, tmp_path: Path) -> Callable[..., list[str]]:
    """Run ``signage fleet ...`` on the test database and blob store; returns [exit code, stdout, output]."""

    def run(*args: str) -> list[str]:
        extra = ["--central", pg_url]
        if args[0] in ("publish", "alert"):
            extra += ["--blob-dir", str(tmp_path / "blobs")]
        result = runner.invoke(app, ["fleet", *args, *extra])
        return [str(result.exit_code), result.stdout, result.output]

    return run


@pytest.fixture
def registered(fleet_cli: Callable[..., list[str]]) -> Iterator[str]:
    """A store, a screen in the north and the group north; yields the screen's token."""
    assert fleet_cli("stores", "add", "paris", "--name", "Paris", "--timezone", "Europe/Paris")[0] == "0"
    code, token, _ = fleet_cli("screens", "add", "scr-1", "--store", "paris", "--tag", "region=north")
    assert code == "0"
    assert fleet_cli("groups", "add", "north", "--tag", "region=north")[0] == "0"
    yield token.strip()


def test_the_registry_round_trip(fleet_cli: Callable[..., list[str]], registered: str) -> None:
    assert len(registered) >= 43 and "\n" not in registered
    code, out, _ = fleet_cli(
        "stores",
        "hours",
        "paris",
        "--week",
        "mon-fri 08:00-20:00",
        "--week",
        "sat 09:00-18:00",
        "--closed",
        "2026-12-25",
    )
    assert code == "0" and "mon-fri 08:00-20:00; sat 09:00-18:00; 2026-12-25 closed" in out
    code, out, _ = fleet_cli("screens", "list")
    assert "scr-1" in out and "region=north" in out and "north" in out.split("region=north")[1]
    code, out, _ = fleet_cli("groups", "list")
    assert "north" in out and "members: scr-1" in out
    code, new_token, _ = fleet_cli("screens", "rotate-token", "scr-1")
    assert code == "0" and new_token.strip() != registered
    assert fleet_cli("screens", "remove", "scr-1")[0] == "0"
    assert "scr-1" not in fleet_cli("screens", "list")[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("stores", "hours", "paris", "--week", "mon-fri 8h-20h"),
            "'8h' in 'mon-fri 8h-20h' is not a time of day",
        ),
        (("stores", "hours", "lyon", "--week", "mon 08:00-20:00"), "no store 'lyon'"),
        (("screens", "add", "scr-1", "--store", "paris"), "screen 'scr-1' already exists"),
        (("screens", "add", "bad id", "--store", "paris"), "not a valid screen id"),
        (("groups", "add", "empty"), "would hold no screen"),
        (("releases", "list", "--group", "nope"), "no group 'nope'"),
        (("alert-clear", "nope"), "no alert 'nope'"),
    ],
)
def test_a_refusal_is_one_sentence_and_exit_1(
    fleet_cli: Callable[..., list[str]], registered: str, args: tuple[str, ...], message: str
) -> None:
    code, _, output = fleet_cli(*args)
    assert code == "1" and message in output and len(output.strip().splitlines()) == 1, output


def test_without_a_central_database_it_says_how_to_give_one() -> None:
    result = runner.invoke(app, ["fleet", "screens", "list"])
    assert result.exit_code == 1 and "pass --central URL or set fleet.central_url" in result.output


def test_publish_pushes_a_retained_command_a_late_subscriber_receives(
    fleet_cli: Callable[..., list[str]],
    registered: str,
    make_content: Callable[..., Content],
    topic_prefix: str,
) -> None:
    content = make_content()
    push = ("--broker", BROKER, "--topic-prefix", topic_prefix)
    code, out, output = fleet_cli(
        "publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules), *push
    )
    assert code == "0", output
    assert "published north#1: 5 file(s)" in out and "5 new in the blob store" in out
    topic = group_topic(topic_prefix, "north")
    late = Retained(topic)
    try:
        assert late.got.wait(10), "no retained command"
        command = Command.from_json(json.loads(late.messages[0]))
        assert command.kind == "release" and command.release_id == "north#1"
    finally:
        late.close()
        _clear_retained(topic)
    code, out, output = fleet_cli("publish", "--group", "north", "--from-release", "1", *push)
    assert code == "0" and "published north#2" in out, output
    _clear_retained(topic)
    listing = fleet_cli("releases", "list", "--group", "north")[1]
    assert "north#1" in listing and "north#2" in listing and "rollback to north#1" in listing


def test_an_alert_and_its_clearing_are_pushed(
    fleet_cli: Callable[..., list[str]],
    registered: str,
    make_content: Callable[..., Content],
    topic_prefix: str,
) -> None:
    image = make_content().write_image("media/exit.png", 60)
    push = ("--broker", BROKER, "--topic-prefix", topic_prefix)
    code, out, output = fleet_cli(
        "alert",
        "--group",
        "north",
        "--message",
        "Use the north exit",
        "--media",
        str(image),
        "--until",
        "+30m",
        *push,
    )
    assert code == "0", output
    alert_id = out.split()[1]
    topic = group_topic(topic_prefix, "north")
    late = Retained(topic)
    try:
        assert late.got.wait(10)
        assert Command.from_json(json.loads(late.messages[0])).kind == "alert"
    finally:
        late.close()
    listing = fleet_cli("alerts", "list")[1]
    assert alert_id in listing and "active" in listing and f"media/alert-{alert_id}.png" in listing
    assert fleet_cli("alert-clear", alert_id, *push)[0] == "0"
    assert "cleared" in fleet_cli("alerts", "list", "--group", "north")[1]
    code, _, output = fleet_cli("alert", "--group", "north", "--message", "x", "--until", "+0m")
    assert code == "1" and "is not in the future" in output
    _clear_retained(topic)


def test_a_refused_publish_names_file_and_line_and_stores_nothing(
    fleet_cli: Callable[..., list[str]], registered: str, make_content: Callable[..., Content], tmp_path: Path
) -> None:
    content = make_content()
    content.rules.write_text("version: 1\nrules:\n  - id: r\n    tier: 10\n    play: {ads: [nope]}\n")
    code, _, output = fleet_cli(
        "publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules)
    )
    assert code == "1"
    assert f"{content.rules}:5:18: warning: no ad 'nope' in the catalog" in output
    assert "nothing was published" in output
    assert not (tmp_path / "blobs").exists()
    assert "0 release(s)" in fleet_cli("releases", "list", "--group", "north")[2]


def test_a_broker_that_is_down_is_a_warning(
    fleet_cli: Callable[..., list[str]], registered: str, make_content: Callable[..., Content]
) -> None:
    content = make_content()
    extra = content.rules.with_name("extra.yaml")
    extra.write_text(
        "version: 1\nrules:\n  - id: b-crowd\n    tier: 20\n    audience: {present: {min: 3}}\n    play: {ads: [ad-b]}\n"
    )
    code, out, output = fleet_cli(
        "publish",
        "--group",
        "north",
        "--catalog",
        str(content.catalog),
        "--broker",
        "mqtt://127.0.0.1:1",
        "--rules",
        str(content.rules),
        str(extra),  # as the shell expands --rules rules/*.yaml
    )
    assert code == "0" and "published north#1: 6 file(s)" in out, output
    assert "warning: not pushed: the broker mqtt://127.0.0.1:1 cannot be reached" in output
    assert "2 rule file(s)" in fleet_cli("releases", "list", "--group", "north")[1]
