"""The agent against the real central server (signage.fleet.central: PostgreSQL, uvicorn, HTTP)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import httpx
import numpy as np
import paho.mqtt.client as mqtt
import pytest
import uvicorn
from agent_helpers import SCREEN, catalog_yaml, rule_yaml, sha
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Engine
from starlette.middleware.base import RequestResponseEndpoint
from typer.testing import CliRunner

from signage.app import RunOptions, run
from signage.cli import app as cli
from signage.cli.fleet_join import write_token
from signage.clock import FakeClock
from signage.feed.mqtt import broker_answers
from signage.fleet.agent.agent import FleetAgent
from signage.fleet.agent.client import HttpFleetClient, TokenRefused
from signage.fleet.agent.store import ReleaseStore
from signage.fleet.agent.validate import ReleaseCheck
from signage.fleet.agent.wiring import start_agent
from signage.fleet.central import migrate as central_migrate
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.registry import add_group, add_screen, add_store
from signage.fleet.central.releases import insert_release
from signage.fleet.central.server import create_app
from signage.fleet.protocol import Command, ReleaseFile, screen_topic
from signage.settings import (
    CameraSettings,
    DisplaySettings,
    FeedSettings,
    FleetSettings,
    PerceptionSettings,
    Settings,
)
from signage.store.engine import make_engine

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def noise_png(seed: int, size: int = 96) -> bytes:
    """A picture that does not compress: tens of kilobytes, so a download can be cut half-way."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return bytes(data.tobytes())


@dataclass
class Central:
    url: str
    engine: Engine
    blobs: BlobStore
    token: str
    root: Path
    ranges: list[tuple[str, str | None]] = field(default_factory=list)  # (blob, Range) of each request

    def publish(self, files: dict[str, bytes]) -> str:
        entries = []
        for path, data in sorted(files.items()):
            source = self.root / "upload" / path
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            blob = self.blobs.put_file(source)
            entries.append(ReleaseFile(path, blob.sha256, blob.size))
        return insert_release(self.engine, "north", entries, "test", NOW).release_id


@pytest.fixture
def central(pg_url: str, tmp_path: Path) -> Iterator[Central]:
    engine = make_engine(pg_url)
    central_migrate.upgrade(engine)
    with engine.begin() as conn:
        add_store(conn, "store-1", "Store one", "UTC", NOW)
        token = add_screen(conn, SCREEN, "store-1", NOW)
        add_group(conn, "north", NOW, members=[SCREEN])
    blobs = BlobStore(tmp_path / "central-blobs")
    app: FastAPI = create_app(engine, blobs.root, clock=FakeClock(start_utc=NOW))
    port = _free_port()
    state = Central(f"http://127.0.0.1:{port}", engine, blobs, token, tmp_path)

    @app.middleware("http")
    async def record_ranges(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if "/blobs/" in request.url.path:
            state.ranges.append((request.url.path.rsplit("/", 1)[-1], request.headers.get("range")))
        return await call_next(request)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def send_command(topic: str, command: Command) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        client.publish(topic, json.dumps(command.to_json()), qos=1).wait_for_publish(timeout=5.0)
    finally:
        client.disconnect()
        client.loop_stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CutStream(httpx.SyncByteStream):
    """The body of one response, cut after ``limit`` bytes as a reset connection would."""

    def __init__(self, inner: httpx.SyncByteStream, limit: int, request: httpx.Request) -> None:
        self._inner, self._limit, self._request = inner, limit, request

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self._inner:
            if sent + len(chunk) >= self._limit:
                yield chunk[: self._limit - sent]
                raise httpx.ReadError("connection reset by peer", request=self._request)
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class CutFirstBlob(httpx.BaseTransport):
    """The real HTTP transport, except that the first download of ``sha`` stops after ``limit`` bytes."""

    def __init__(self, sha: str, limit: int) -> None:
        self._http = httpx.HTTPTransport()
        self._sha, self._limit = sha, limit
        self.cut = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._http.handle_request(request)
        if self.cut or not request.url.path.endswith(self._sha):
            return response
        self.cut = True
        assert isinstance(response.stream, httpx.SyncByteStream)
        stream = CutStream(response.stream, self._limit, request)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream, request=request)

    def close(self) -> None:
        self._http.close()


def agent_for(root: Path, client: HttpFleetClient) -> tuple[FleetAgent, ReleaseStore]:
    store = ReleaseStore(root / "screen" / "fleet")
    check = ReleaseCheck(ZoneInfo("UTC"))
    agent = FleetAgent(client, store, check.problem, threading.Event(), FakeClock(start_utc=NOW))
    return agent, store


def files_of(*media: tuple[str, bytes]) -> dict[str, bytes]:
    ids = [name for name, _ in media]
    out = {"catalog.yaml": catalog_yaml(*ids), "rules/store.yaml": rule_yaml(ids[0])}
    out.update({f"media/{name}.png": data for name, data in media})
    return out


def test_a_cut_download_resumes_with_a_range_from_the_part(central: Central, tmp_path: Path) -> None:
    media = noise_png(1)
    assert len(media) > 20_000
    release_id = central.publish(files_of(("spring", media)))
    digest = sha(media)
    transport = CutFirstBlob(digest, limit=12_345)
    client = HttpFleetClient(central.url, central.token, transport=transport)
    try:
        agent, store = agent_for(tmp_path, client)
        assert not agent.poll_once()  # the media download was cut
        assert transport.cut and store.current_release_id() is None
        assert store.part_path(digest).stat().st_size == 12_345
        assert agent.poll_once()  # 304 on the state, the rest of the media from byte 12345
        assert store.current_release_id() == release_id
        assert [r for blob, r in central.ranges if blob == digest] == [None, "bytes=12345-"]
        assert (store.current_dir / "media/spring.png").read_bytes() == media
        assert stat.S_IMODE(store.blob_path(digest).stat().st_mode) & 0o222 == 0  # read-only
    finally:
        client.close()


def test_state_304_and_a_refused_token_on_the_real_server(central: Central, tmp_path: Path) -> None:
    central.publish(files_of(("spring", noise_png(2, 16))))
    client = HttpFleetClient(central.url, central.token)
    wrong = HttpFleetClient(central.url, "not-the-token")
    try:
        first = client.get_state(None)
        assert first.state is not None and first.state.screen_id == SCREEN and first.etag
        again = client.get_state(first.etag)
        assert again.not_modified
        with pytest.raises(TokenRefused):
            wrong.get_state(None)
    finally:
        client.close()
        wrong.close()


def test_fleet_join_checks_the_token_with_the_server_and_saves_it_0600(
    central: Central, tmp_path: Path
) -> None:
    settings = tmp_path / "signage.yaml"
    settings.write_text(f"screen_id: {SCREEN}\ndata_dir: data\n")
    runner = CliRunner()
    args = ["fleet", "join", "--server", central.url, "--token-stdin", "-c", str(settings)]
    refused = runner.invoke(cli, args, input="wrong-token\n")
    assert refused.exit_code == 1 and "refused this token" in refused.output
    token_file = tmp_path / "data" / "fleet-token"
    assert not token_file.exists()
    joined = runner.invoke(cli, args, input=central.token + "\n")
    assert joined.exit_code == 0, joined.output
    assert token_file.read_text() == central.token + "\n"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert f"server_url: {central.url}" in joined.output
    other = tmp_path / "other.yaml"
    other.write_text("screen_id: screen-9\ndata_dir: data9\n")
    mismatch = runner.invoke(cli, [*args[:-1], str(other)], input=central.token + "\n")
    assert mismatch.exit_code == 1 and "belongs to screen 'screen-7'" in mismatch.output


@pytest.mark.slow
def test_the_player_plays_the_release_its_agent_fetched(
    central: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    release_id = central.publish(files_of(("spring", noise_png(3, 64))))
    data = tmp_path / "player"
    write_token(data / "fleet-token", central.token)
    settings = Settings(
        screen_id=SCREEN,
        data_dir=data,
        rules=(),
        camera=CameraSettings(source="none"),
        display=DisplaySettings(
            fullscreen=False, width=320, height=240, image_duration_s=1.0, standby_slot_s=0.5
        ),
        perception=PerceptionSettings(enabled=False),
        fleet=FleetSettings(server_url=central.url),
    )
    assert run(settings, RunOptions(headless=True, duration_s=6.0)) == 0
    assert ReleaseStore(data / "fleet").current_release_id() == release_id
    with sqlite3.connect(data / "signage.db") as db:
        plays = db.execute("select ad_id, release_id from play").fetchall()
    assert ("spring", release_id) in plays  # from the standby slide to the fleet's ad, without a restart
    assert not central.ranges or all(r is None for _blob, r in central.ranges)


@pytest.mark.skipif(
    not broker_answers("127.0.0.1", 1883), reason="needs the Mosquitto broker at 127.0.0.1:1883"
)
def test_a_release_command_on_mqtt_brings_the_new_release_at_once(central: Central, tmp_path: Path) -> None:
    first = central.publish(files_of(("spring", noise_png(4, 16))))
    data = tmp_path / "player"
    write_token(data / "fleet-token", central.token)
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        screen_id=SCREEN,
        data_dir=data,
        fleet=FleetSettings(server_url=central.url, poll_interval_s=3600),  # only a push polls again
        feed=FeedSettings(mqtt_url="mqtt://127.0.0.1:1883", topic_prefix=prefix),
    )
    store = ReleaseStore(data / "fleet")
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        agent = start_agent(settings, store, stop, FakeClock(start_utc=NOW), stack)
        assert agent is not None
        assert wait_for(lambda: store.current_release_id() == first)
        second = central.publish(files_of(("summer", noise_png(5, 16))))
        deadline = time.monotonic() + 10
        while store.current_release_id() != second and time.monotonic() < deadline:
            # Until the agent's subscription is in place a command may find nobody: send it again.
            send_command(screen_topic(prefix, SCREEN), Command("release", second))
            wait_for(lambda: store.current_release_id() == second, timeout_s=0.5)
        assert store.current_release_id() == second
    assert stop.is_set()  # the exit stack stopped the agent with the one stop event
