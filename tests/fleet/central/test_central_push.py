"""`signage fleet collect|screenshot|screenshot-get` against the real PostgreSQL and Mosquitto."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from signage.cli import app
from signage.clock import FakeClock
from signage.fleet.protocol import Command, screen_topic
from signage.fleet.uplink import SCREENSHOT_STALE_S, Uplink
from signage.fleet.uplink_observer import ScreenshotTaker
from signage.fleet.uplink_protocol import PNG_MAGIC

runner = CliRunner()
BROKER = "mqtt://127.0.0.1:1883"
PNG = PNG_MAGIC + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
pytestmark = pytest.mark.postgres

Cli = Callable[..., tuple[int, str, str]]


class Listener:
    """Subscribed to some screens' command topics; keeps (topic, command, retained) as they come."""

    def __init__(self, topics: list[str], on_message: Callable[[str], None] = lambda _t: None) -> None:
        self.got: list[tuple[str, Command, bool]] = []
        self.ready = threading.Event()
        self.arrived = threading.Event()
        self._react = on_message
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self.ready.wait(5)

    def _on_message(self, _c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        command = Command.from_json(json.loads(message.payload))
        self.got.append((message.topic, command, bool(message.retain)))
        self._react(message.topic)
        self.arrived.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def cli(pg_url: str, tmp_path: Path, topic_prefix: str) -> Cli:
    def run(*args: str, broker: str = BROKER) -> tuple[int, str, str]:
        extra = ["--central", pg_url]
        if args[0] in ("collect", "screenshot"):
            extra += ["--broker", broker, "--topic-prefix", topic_prefix]
        if args[0] in ("screenshot", "screenshot-get"):
            extra += ["--blob-dir", str(tmp_path / "blobs")]
        result = runner.invoke(app, ["fleet", *args, *extra])
        return result.exit_code, result.stdout, result.output

    return run


@pytest.fixture
def fleet(cli: Cli) -> Iterator[None]:
    assert cli("stores", "add", "paris", "--timezone", "Europe/Paris")[0] == 0
    for screen, region in (("scr-1", "north"), ("scr-2", "north"), ("scr-3", "south")):
        assert cli("screens", "add", screen, "--store", "paris", "--tag", f"region={region}")[0] == 0
    assert cli("groups", "add", "north", "--tag", "region=north")[0] == 0
    yield


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_collect_goes_to_each_screen_of_the_group_not_retained(
    cli: Cli, fleet: None, topic_prefix: str
) -> None:
    topics = [screen_topic(topic_prefix, s) for s in ("scr-1", "scr-2", "scr-3")]
    listener = Listener(topics)
    try:
        code, out, _ = cli("collect", "--group", "north")
        assert code == 0, out
        assert "'collect' sent to 2 screen(s): scr-1, scr-2" in out
        assert listener.arrived.wait(5)
        code, _, _ = cli("collect", "--screen", "scr-3")
        assert code == 0
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while len(listener.got) < 3 and datetime.now(UTC) < deadline:
            listener.arrived.wait(0.1)
    finally:
        listener.close()
    assert sorted(t for t, _c, _r in listener.got) == sorted(topics)
    assert {c.kind for _t, c, _r in listener.got} == {"collect"}
    assert all(c.issued_utc is not None for _t, c, _r in listener.got)
    late = Listener(topics)  # nothing is retained: a late subscriber gets nothing
    try:
        assert not late.arrived.wait(0.5)
    finally:
        late.close()


def test_refusals_are_one_sentence(cli: Cli, fleet: None) -> None:
    code, _, out = cli("collect", "--group", "east")
    assert code == 1 and "no group 'east'" in out and out.count("\n") == 1
    code, _, out = cli("collect")
    assert code == 1 and "either --screen ID or --group NAME" in out
    code, _, out = cli("collect", "--screen", "scr-1", broker=f"mqtt://127.0.0.1:{closed_port()}")
    assert code == 1 and out.count("\n") == 1
    assert "'collect' not sent: the broker mqtt://127.0.0.1:" in out and "cannot be reached" in out


def test_screenshot_waits_for_the_upload_and_screenshot_get_copies_it(
    cli: Cli, fleet: None, topic_prefix: str, tmp_path: Path
) -> None:
    code, _, out = cli("screenshot-get", "--screen", "scr-1", "--out", str(tmp_path / "x.png"))
    assert code == 1 and "no screenshot of scr-1" in out
    stored = tmp_path / "blobs" / "screenshots" / "scr-1.png"

    def upload(_topic: str) -> None:  # what the screen's uplink does on the command, in short
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(PNG)

    listener = Listener([screen_topic(topic_prefix, "scr-1")], upload)
    try:
        code, out, _ = cli(
            "screenshot", "--screen", "scr-1", "--out", str(tmp_path / "now.png"), "--wait", "10"
        )
    finally:
        listener.close()
    assert code == 0, out
    assert (tmp_path / "now.png").read_bytes() == PNG
    assert [(c.kind, r) for _t, c, r in listener.got] == [("screenshot", False)]
    code, out, _ = cli("screenshot-get", "--screen", "scr-1", "--out", str(tmp_path / "again.png"))
    assert code == 0 and (tmp_path / "again.png").read_bytes() == PNG
    code, _, out = cli("screenshot-get", "--screen", "../etc", "--out", str(tmp_path / "y.png"))
    assert code == 1 and "no screen '../etc'" in out


class Shots:
    def screenshot(self, path: Path) -> None:
        path.write_bytes(PNG)


def test_the_uplink_drops_a_screenshot_queued_while_the_screen_was_off(tmp_path: Path) -> None:
    clock = FakeClock(start_utc=datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    taker = ScreenshotTaker(Shots(), tmp_path / "shot.png", clock.monotonic)
    uplink = Uplink(None, None, lambda: None, clock, sync_every_s=60, screenshots=taker)  # type: ignore[arg-type,return-value]
    old = clock.now_utc() - timedelta(seconds=SCREENSHOT_STALE_S + 1)
    uplink.on_command(Command("screenshot", None, old))
    assert not taker.pending
    uplink.on_command(Command("screenshot", None, clock.now_utc() - timedelta(seconds=30)))
    assert taker.pending
