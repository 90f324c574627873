"""The whole fleet, end to end, on the real PostgreSQL, Mosquitto and the central app under uvicorn.

Three screens (two in the north, one in the south) run real agents (HTTP client, release store,
MQTT wake-up). A release and an alert published with `signage fleet` reach the north screens by
push (their poll interval is far longer than the wait); with the broker gone a second release
arrives by polling; and one screen's plays, shipped through the uplink's HTTP target, land
centrally with the release they were shown under.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from signage.cli import app
from signage.clock import SystemClock
from signage.feed.mqtt import Broker, broker_answers
from signage.fleet.agent.agent import FleetAgent
from signage.fleet.agent.client import HttpFleetClient
from signage.fleet.agent.mqtt import MqttWake
from signage.fleet.agent.store import ReleaseStore, fleet_dir
from signage.fleet.agent.validate import ReleaseCheck
from signage.fleet.agent.wiring import AGENT_COMMANDS
from signage.fleet.central import migrate as central_migrate
from signage.fleet.central.registry import add_group, add_screen, add_store
from signage.fleet.central.server import create_app
from signage.fleet.http_target import HttpTarget, UplinkClient
from signage.fleet.protocol import group_topic
from signage.fleet.release_id import current_release
from signage.fleet.runner import SyncPasses
from signage.store import StoreWriter
from signage.store.engine import make_engine
from signage.store.migrate import upgrade as store_upgrade
from signage.testing.clips import make_still
from signage.testing.sample_plays import sample_play
from signage.testing.waiting import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not broker_answers("127.0.0.1", 1883), reason="needs Mosquitto at 127.0.0.1:1883"),
]
BROKER = "mqtt://127.0.0.1:1883"
SCREENS = {"scr-n1": "north", "scr-n2": "north", "scr-s1": "south"}
PUSH_WAIT_S = 20.0  # far below the push-phase poll interval (120 s): what arrives came by push
runner = CliRunner()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def central_server(engine: Engine, blob_dir: Path, prefix: str) -> Iterator[str]:
    app_ = create_app(engine, blob_dir, topic_prefix=prefix)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app_, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="central-uvicorn", daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started, 15), "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class Screen:
    screen_id: str
    data_dir: Path
    client: HttpFleetClient
    store: ReleaseStore
    agent: FleetAgent | None = None
    wake: MqttWake | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self, prefix: str, broker: Broker, poll_interval_s: float) -> None:
        self.stop = threading.Event()
        agent = FleetAgent(
            self.client,
            self.store,
            ReleaseCheck(ZoneInfo("UTC")).problem,
            self.stop,
            SystemClock(),
            poll_interval_s=poll_interval_s,
            screen_id=self.screen_id,
        )
        self.agent = agent
        agent.start()
        self.wake = MqttWake(
            broker,
            prefix,
            self.screen_id,
            lambda command: agent.wake() if command.kind in AGENT_COMMANDS else None,
            client_id=f"e2e-{self.screen_id}-{uuid.uuid4().hex[:8]}",
        )

    def halt(self) -> None:
        if self.wake is not None:
            self.wake.close()
            self.wake = None
        if self.agent is not None:
            self.agent.stop_and_join(10)
            self.agent = None

    @property
    def polls(self) -> int:
        assert self.agent is not None
        return self.agent.counters.polls

    def release(self) -> str | None:
        return self.store.current_release_id()


def write_content(root: Path, ad: str, bgr: tuple[int, int, int]) -> tuple[Path, Path]:
    """A real small catalog (one still, a standby slide) and a rule file that plays the ad."""
    (root / "media").mkdir(parents=True)
    make_still(root / "media" / f"{ad}.png", bgr)
    make_still(root / "media" / "standby.png", (0, 0, 0))
    catalog = root / "catalog.yaml"
    catalog.write_text(
        f"standby: media/standby.png\nads:\n  - id: {ad}\n    media: media/{ad}.png\n"
        f"    advertiser: Acme\n    campaign: {ad}-campaign\n",
        encoding="utf-8",
    )
    rules = root / "rules" / "store.yaml"
    rules.parent.mkdir()
    rules.write_text(f"version: 1\nrules:\n  - id: everyone\n    play: {{ads: [{ad}]}}\n", encoding="utf-8")
    return catalog, rules


def clear_retained(topic: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=5)
    client.disconnect()
    client.loop_stop()


def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


def test_a_fleet_end_to_end(pg_url: str, tmp_path: Path) -> None:
    prefix = f"test-e2e-{uuid.uuid4().hex[:10]}"
    blob_dir = tmp_path / "blobs"
    engine = make_engine(pg_url)
    screens: list[Screen] = []
    local: Engine | None = None
    try:
        store_upgrade(engine)
        central_migrate.upgrade(engine)
        now = datetime.now(UTC)
        tokens = {}
        with engine.begin() as conn:
            add_store(conn, "store-1", "Store one", "UTC", now)
            for screen_id, region in SCREENS.items():
                tokens[screen_id] = add_screen(conn, screen_id, "store-1", now, tags={"region": region})
            add_group(conn, "north", now, selector={"region": "north"})

        def fleet(*args: str) -> str:
            extra = [
                "--central",
                pg_url,
                "--blob-dir",
                str(blob_dir),
                "--broker",
                BROKER,
                "--topic-prefix",
                prefix,
            ]
            result = runner.invoke(app, ["fleet", *args, *extra])
            assert result.exit_code == 0, result.output
            return result.stdout

        with central_server(engine, blob_dir, prefix) as url:
            broker = Broker.from_url(BROKER)
            for screen_id in SCREENS:
                data_dir = tmp_path / screen_id
                screen = Screen(
                    screen_id,
                    data_dir,
                    HttpFleetClient(url, tokens[screen_id]),
                    ReleaseStore(fleet_dir(data_dir)),
                )
                screens.append(screen)
                screen.start(prefix, broker, poll_interval_s=120.0)
            north, south = screens[:2], screens[2]
            assert wait_for(
                lambda: all(s.wake is not None and s.wake.subscribed and s.polls >= 1 for s in screens), 20
            )
            assert all(s.release() is None for s in screens)

            # 1. A release reaches the north by push; the south has none.
            catalog, rules = write_content(tmp_path / "content-1", "spring", (40, 160, 40))
            south_polls = south.polls
            assert "published north#1" in fleet(
                "publish", "--group", "north", "--catalog", str(catalog), "--rules", str(rules)
            )
            assert wait_for(lambda: all(s.release() == "north#1" for s in north), PUSH_WAIT_S)
            assert wait_for(lambda: south.polls > south_polls, PUSH_WAIT_S)  # it heard the hint too
            assert south.release() is None
            assert (north[0].store.current_dir / "media" / "spring.png").is_file()

            # 2. An alert shows on the north screens within seconds, not on the south one.
            south_polls = south.polls
            fleet("alert", "--group", "north", "--message", "Please use the north exit")

            def alerted(s: Screen) -> bool:
                return [a.message for a in s.store.active_alerts(datetime.now(UTC))] == [
                    "Please use the north exit"
                ]

            assert wait_for(lambda: all(alerted(s) for s in north), PUSH_WAIT_S)
            assert wait_for(lambda: south.polls > south_polls, PUSH_WAIT_S)
            assert south.store.active_alerts(datetime.now(UTC)) == ()

            # A play on screen under north#1 (the player stamps the release it shows).
            n1 = north[0]
            local = make_engine(f"sqlite:///{tmp_path / 'scr-n1.db'}")
            release_of_n1 = current_release(n1.data_dir)
            played = [dataclasses.replace(sample_play(0, screen_id=n1.screen_id), release_id=release_of_n1())]

            # 3. The broker is away for the screens: a release arrives by polling alone.
            for s in screens:
                s.halt()
            deaf = Broker("127.0.0.1", closed_port())
            for s in screens:
                s.start(prefix, deaf, poll_interval_s=1.5)
            assert wait_for(lambda: all(s.polls >= 1 for s in screens), 20)
            assert not any(s.wake is not None and s.wake.connected for s in screens)
            catalog, rules = write_content(tmp_path / "content-2", "summer", (200, 120, 20))
            assert "published north#2" in fleet(
                "publish", "--group", "north", "--catalog", str(catalog), "--rules", str(rules)
            )
            assert wait_for(lambda: all(s.release() == "north#2" for s in north), 30)
            assert south.release() is None
            played += [
                dataclasses.replace(sample_play(i, screen_id=n1.screen_id), release_id=release_of_n1())
                for i in (1, 2)
            ]

            # 4. The plays go up through the uplink's HTTP target and land with their release.
            sink = StoreWriter(local, screen_id=n1.screen_id).start()
            for play in played:
                sink.play_ended(play)
            assert sink.flush(30)
            sink.close()
            with UplinkClient(url, tokens[n1.screen_id], timeout_s=10) as uplink:
                passes = SyncPasses(local, HttpTarget(uplink), lambda: None)
                assert passes.run_pass() is not None, passes.error
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT release_id FROM play WHERE screen_id = :s ORDER BY started_at"),
                    {"s": n1.screen_id},
                ).all()
            assert [r.release_id for r in rows] == ["north#1", "north#2", "north#2"]
    finally:
        for s in screens:
            s.halt()
            s.client.close()
        if local is not None:
            local.dispose()
        engine.dispose()
        clear_retained(group_topic(prefix, "north"))
