"""The player's uplink thread against a real central server: its schedule, MQTT commands, wiring."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import sqlalchemy as sa
from uplink_helpers import NOW, Central, local_store, png

from signage.clock import FakeClock
from signage.domain import AudienceSnapshot
from signage.feed.mqtt import Broker, broker_answers
from signage.fleet.agent.mqtt import MqttWake
from signage.fleet.central.status_table import latest_status
from signage.fleet.central.uplink_api import screenshot_path
from signage.fleet.http_target import HttpTarget, UplinkClient
from signage.fleet.protocol import Command, screen_topic
from signage.fleet.runner import SyncPasses
from signage.fleet.uplink import Uplink, start_uplink, status_source
from signage.fleet.uplink_observer import PlayStatus, ScreenshotTaker
from signage.settings import Settings
from signage.store import StoreWriter
from signage.testing.sample_plays import sample_play

pytestmark = pytest.mark.postgres
BROKER = ("127.0.0.1", 1883)
needs_broker = pytest.mark.skipif(not broker_answers(*BROKER), reason="needs Mosquitto at 127.0.0.1:1883")


class PngPlayer:
    """A player whose screenshot is a small PNG of one shade (what a real one draws is the ad)."""

    def __init__(self) -> None:
        self.shots: list[Path] = []

    def screenshot(self, path: Path) -> None:
        self.shots.append(path)
        path.write_bytes(png(shade=len(self.shots)))


def add_plays(local: sa.Engine, count: int, start: int) -> None:
    sink = StoreWriter(local, screen_id="screen-a", migrate=False).start()
    for i in range(start, start + count):
        sink.play_ended(sample_play(i, screen_id="screen-a"))
    assert sink.flush(30)
    sink.close()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def make_uplink(
    central: Central, local: sa.Engine, clock: FakeClock, tmp_path: Path, url: str | None = None
) -> tuple[Uplink, PlayStatus]:
    client = UplinkClient(url or central.url, central.tokens["screen-a"], timeout_s=5)
    passes = SyncPasses(local, HttpTarget(client), lambda: None, retry_cap_s=60)
    plays = PlayStatus(clock.monotonic)
    status = status_source(plays, clock, tmp_path, lambda: "north#3", lambda: True, lambda: "on")
    return Uplink(client, passes, status, clock, sync_every_s=10, heartbeat_every_s=30), plays


def test_heartbeats_and_rows_go_up_on_their_own_schedule(tmp_path: Path, central: Central) -> None:
    local = local_store(tmp_path / "a.db", 20, "screen-a")
    clock = FakeClock(start_utc=NOW)
    uplink, plays = make_uplink(central, local, clock, tmp_path)
    play = sample_play(99, screen_id="screen-a")
    plays.play_started(play, AudienceSnapshot.unknown())
    assert uplink.step() == 10.0  # both at once on start; rows are due again first
    assert central.count("play") == 20 and uplink.beats == 1
    with central.engine.connect() as conn:
        beat = latest_status(conn, "screen-a")
    assert beat is not None
    assert (beat[0].release_id, beat[0].playing_ad_id, beat[0].plays_last_hour) == ("north#3", play.ad_id, 1)
    assert beat[0].disk_free_bytes is not None and beat[0].disk_free_bytes > 0

    add_plays(local, 5, 20)
    clock.advance(10)
    assert uplink.step() == 10.0
    assert central.count("play") == 25 and uplink.beats == 1  # rows every 10 s, beats every 30 s
    clock.advance(20)
    uplink.step()
    assert uplink.beats == 2
    clock.advance(3600)  # an hour later the play no longer counts
    uplink.step()
    with central.engine.connect() as conn:
        later = latest_status(conn, "screen-a")
    assert later is not None and later[0].plays_last_hour == 0
    uplink.close()
    local.dispose()


def test_a_server_away_is_said_once_and_retried_with_back_off(
    tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    local = local_store(tmp_path / "a.db", 3, "screen-a")
    clock = FakeClock(start_utc=NOW)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    uplink, _ = make_uplink(central, local, clock, tmp_path, url=dead)
    caplog.set_level(logging.INFO)
    delays = []
    for _ in range(4):
        delays.append(uplink.step())
        clock.advance(delays[-1])
    assert delays == [1.0, 2.0, 4.0, 8.0]  # the sync's back-off; heartbeats keep their 30 s
    assert uplink.beats == 0 and central.count("play") == 0
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in said if "heartbeat not delivered" in m]) == 1
    assert len([m for m in said if "nothing is lost" in m]) == 1
    uplink.close()
    local.dispose()


@needs_broker
def test_collect_and_screenshot_commands_over_mqtt(tmp_path: Path, central: Central) -> None:
    local = local_store(tmp_path / "a.db", 2, "screen-a")
    clock = FakeClock(start_utc=NOW)
    uplink, _ = make_uplink(central, local, clock, tmp_path)
    uplink.sync_every_s = uplink.heartbeat_every_s = 3600.0  # only the commands cause a send
    player = PngPlayer()
    taker = ScreenshotTaker(
        player, tmp_path / "fleet" / "screenshot.png", clock.monotonic, uplink.screenshot_saved
    )
    uplink.screenshots = taker
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    wake = MqttWake(Broker(*BROKER), prefix, "screen-a", uplink.on_command, client_id=f"t-{uuid.uuid4().hex}")
    uplink.start()
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    try:
        assert wait_for(lambda: wake.subscribed and central.count("play") == 2)
        add_plays(local, 3, 2)
        sender.connect(*BROKER)
        sender.loop_start()
        topic = screen_topic(prefix, "screen-a")
        sender.publish(topic, json.dumps(Command("collect").to_json()), qos=1).wait_for_publish(5)
        assert wait_for(lambda: central.count("play") == 5)  # shipped now, not in an hour

        sender.publish(topic, json.dumps(Command("screenshot").to_json()), qos=1).wait_for_publish(5)
        assert wait_for(lambda: taker.pending)
        play = sample_play(7, screen_id="screen-a")
        taker.play_started(play, AudienceSnapshot.unknown())  # the loop, on the main thread
        assert player.shots == []  # not in the first second of an item on screen
        clock.advance(1.5)
        taker.audience_sample(AudienceSnapshot.unknown())
        assert len(player.shots) == 1 and player.shots[0].suffix == ".png"
        shot = screenshot_path(central.blob_dir, "screen-a")
        assert wait_for(lambda: shot.exists() and shot.read_bytes() == png(shade=1))
        taker.audience_sample(AudienceSnapshot.unknown())
        assert len(player.shots) == 1  # one per request
    finally:
        sender.disconnect()
        sender.loop_stop()
        wake.close()
        uplink.close()
        local.dispose()


def test_the_player_starts_the_uplink_only_in_a_fleet_with_a_token(
    tmp_path: Path, central: Central, caplog: pytest.LogCaptureFixture
) -> None:
    local_store(tmp_path / "signage.db", 4, "screen-a").dispose()
    base = {"screen_id": "screen-a", "data_dir": tmp_path, "feed": {"enabled": "off"}}
    alone = Settings.model_validate(base)
    with contextlib.ExitStack() as stack:
        assert start_uplink(alone, PngPlayer(), FakeClock(), stack, camera_online=lambda: True) == []
    fleet = Settings.model_validate({**base, "fleet": {"server_url": central.url, "sync_interval_s": 3600}})
    with contextlib.ExitStack() as stack:
        assert start_uplink(fleet, PngPlayer(), FakeClock(), stack, camera_online=lambda: True) == []
    assert any("no screen token" in r.getMessage() for r in caplog.records)
    (tmp_path / "fleet-token").write_text(central.tokens["screen-a"] + "\n")
    with contextlib.ExitStack() as stack:
        observers = start_uplink(fleet, PngPlayer(), FakeClock(), stack, camera_online=lambda: True)
        assert [type(o).__name__ for o in observers] == ["PlayStatus", "ScreenshotTaker"]
        assert wait_for(lambda: central.count("play") == 4 and central.count("fleet_screen_status") == 1)
    assert central.count("heartbeat", "WHERE screen_id = 'screen-a'") == 1
