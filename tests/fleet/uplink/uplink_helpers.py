"""Helpers of the uplink tests: a real central server (PostgreSQL, both schemas, uvicorn, two screens)
and screens' local stores. The ``central`` fixture is in conftest.py."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from signage.clock import FakeClock
from signage.domain import AgeBand, Emotion, Gender
from signage.fleet.central import migrate as central_migrate
from signage.fleet.central.registry import add_screen, add_store
from signage.fleet.central.server import create_app
from signage.fleet.central.uplink_api import StatusPublisher
from signage.fleet.rowcodec import shipped_columns
from signage.fleet.runner import central_engine
from signage.fleet.tables import synced_tables
from signage.fleet.uplink_protocol import PNG_MAGIC
from signage.impressions.metrics import CompositionCell, Impression, TrackImpression
from signage.impressions.occupancy import OccupancyCell
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.migrate import upgrade as store_upgrade
from signage.testing.sample_plays import T0, sample_play

NOW = datetime(2026, 3, 15, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uplink_app(
    engine: Engine, blob_dir: Path, clock: FakeClock, publisher: StatusPublisher | None = None
) -> FastAPI:
    return create_app(engine, blob_dir, clock=clock, status_publisher=publisher, topic_prefix="acme")


class RecordingStatus:
    """The fake status publisher: keeps every (topic, payload) it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish_status(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


@dataclass
class Central:
    url: str
    engine: Engine
    app: FastAPI
    blob_dir: Path
    tokens: dict[str, str]  # screen id -> bearer token
    published: RecordingStatus

    def count(self, table: str, where: str = "") -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} {where}")).scalar_one())


@contextlib.contextmanager
def running_central(pg_url: str, tmp_path: Path) -> Iterator[Central]:
    engine = central_engine(pg_url)
    store_upgrade(engine)
    central_migrate.upgrade(engine)
    tokens = {}
    with engine.begin() as conn:
        add_store(conn, "store-1", "Store one", "UTC", NOW)
        for screen in ("screen-a", "screen-b"):
            tokens[screen] = add_screen(conn, screen, "store-1", NOW)
    published = RecordingStatus()
    app = uplink_app(engine, tmp_path / "blobs", FakeClock(start_utc=NOW), published)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Central(f"http://127.0.0.1:{port}", engine, app, tmp_path / "blobs", tokens, published)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def sample_impression(play_id: str, viewers: int = 2) -> Impression:
    tracks = tuple(
        TrackImpression(i + 1, 3.0 + i, 2.0, True, AgeBand.A25_34, Gender.FEMALE, Emotion.HAPPY, False)
        for i in range(viewers)
    )
    return Impression(
        play_id=play_id, threshold_s=1.0, audience_known=True, ots=viewers, viewers=viewers,
        attention_s=2.0 * viewers, dwell_s=3.0 * viewers, possible_minors=0, happy_before=0,
        classified_before=0, happy_during=viewers, classified_during=viewers,
        composition=(CompositionCell(AgeBand.A25_34, Gender.FEMALE, viewers),), tracks=tracks,
    )  # fmt: skip


def local_store(path: Path, plays: int, screen: str, *, impressions: int = 0) -> Engine:
    """A screen's SQLite store with ``plays`` plays (the first ``impressions`` with an impression),
    one hour of occupancy and a heartbeat."""
    sink = StoreWriter(make_engine(f"sqlite:///{path}"), screen_id=screen, batch_max=5000)
    for i in range(plays):
        play = sample_play(i, screen_id=screen)
        sink.play_ended(play)
        if i < impressions:
            sink.record(sample_impression(play.play_id), screen, play.started_at + timedelta(seconds=9))
    sink.write_occupancy(
        screen, uuid.uuid4(), T0, (OccupancyCell(0, 1, 3, 12.5), OccupancyCell(1, 2, 1, 4.0))
    )
    sink.write_heartbeat(Heartbeat(screen, "store-1", T0, playing_ad_id="ad-1", camera_online=True))
    sink.start()
    assert sink.flush(60)
    sink.close()
    return sink.engine


def table_contents(engine: Engine, screen: str | None = None) -> dict[str, set[tuple[object, ...]]]:
    """Every synced table's shipped columns, as sets of rows (optionally one screen's)."""
    out = {}
    with engine.connect() as conn:
        for table in synced_tables():
            columns = shipped_columns(table)
            rows = {tuple(r) for r in conn.execute(sa.select(*columns))}
            if screen is not None and "screen_id" in table.c:
                index = [c.name for c in columns].index("screen_id")
                rows = {r for r in rows if r[index] == screen}
            out[table.name] = rows
    return out


def png(width: int = 4, height: int = 2, shade: int = 0) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([shade, shade, shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
