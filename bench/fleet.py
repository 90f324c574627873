"""A simulated fleet against the real central server, PostgreSQL and Mosquitto (docs/fleet.md).

    .venv/bin/python bench/fleet.py [--screens 200] [--plays 50] [--media-kb 1500] [--mqtt-clients 8]

A fresh database is created for the run (and dropped after), migrated, and ``--screens`` screens
are registered in two groups (region=north / region=south). The real ``signage fleet serve`` runs
in a subprocess on a free port (uvicorn, the uplink, the health monitor). The screens are the
simulated screens of ``bench/_fleet_screen.py`` (asyncio + httpx, MQTT wake-ups multiplexed over a
few paho clients). Then:

1. a release (catalog, media, two rule files) is published to both groups the way ``signage fleet
   publish`` does it (validated, blobs stored once, the numbered release, a retained MQTT push);
   printed: the time until each screen runs it (median, max) and the bytes moved;
2. a second release that changes one rule file only: the bytes moved show that no media moved;
3. the central server's CPU seconds and PostgreSQL's connection count (pg_stat_activity);
4. each screen ships ``--plays`` play rows through the uplink: rows/s.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import httpx
import numpy as np
import sqlalchemy as sa
from _fleet_screen import MqttWakers, SimScreen

from signage.clock import SystemClock
from signage.feed.mqtt import Broker
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.bundle import Validation, prepare_bundle
from signage.fleet.central.commands import MqttCommandPublisher
from signage.fleet.central.migrate import upgrade as central_upgrade
from signage.fleet.central.registry import add_group, add_screen, add_store
from signage.fleet.central.releases import insert_release, store_blobs
from signage.fleet.protocol import API_PREFIX, Command, group_topic
from signage.store.engine import make_engine
from signage.store.migrate import upgrade as store_upgrade
from signage.store.models import PLAY
from signage.testing.pgschema import DEFAULT_TEST_URL

GROUPS = ("north", "south")
SCREENS_PER_STORE = 10
RULES = """\
version: 1
rules:
  - id: {rule_id}
    tier: {tier}
    audience: {audience}
    play: {{ads: [{ads}]}}
"""


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    name = f"bench_fleet_{secrets.token_hex(4)}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def write_content(root: Path, media_kb: int) -> tuple[Path, list[Path]]:
    """A catalog of four ads (random-noise PNGs of about ``media_kb`` in all) and two rule files."""
    rng = np.random.default_rng(7)
    side = max(16, int((media_kb * 1024 / 4 / 3) ** 0.5))  # noise barely compresses: ~3 bytes a pixel
    (root / "media").mkdir(parents=True)
    ads = []
    for i in range(4):
        cv2.imwrite(str(root / "media" / f"ad-{i}.png"), rng.integers(0, 255, (side, side, 3), np.uint8))
        ads.append(
            f"  - id: ad-{i}\n    media: media/ad-{i}.png\n    advertiser: adv-{i % 2}\n    campaign: camp-{i}\n"
        )
    cv2.imwrite(str(root / "media" / "standby.png"), np.full((32, 32, 3), 200, np.uint8))
    catalog = root / "catalog.yaml"
    catalog.write_text("standby: media/standby.png\nads:\n" + "".join(ads), encoding="utf-8")
    (root / "rules").mkdir()
    rules = [root / "rules" / "store.yaml", root / "rules" / "promo.yaml"]
    rules[0].write_text(
        RULES.format(rule_id="house", tier=10, audience="{}", ads="ad-0, ad-1"), encoding="utf-8"
    )
    rules[1].write_text(
        RULES.format(rule_id="promo", tier=20, audience="{gender: female}", ads="ad-2"), encoding="utf-8"
    )
    return catalog, rules


def register(engine: sa.Engine, screens: int) -> dict[str, tuple[str, str]]:
    """screen id -> (token, group); ``screens`` screens, ten a store, alternating regions."""
    now = SystemClock().now_utc()
    out = {}
    with engine.begin() as conn:
        for store in range((screens + SCREENS_PER_STORE - 1) // SCREENS_PER_STORE):
            add_store(conn, f"store-{store:03d}", f"Store {store}", "Europe/Paris", now)
        for i in range(screens):
            group = GROUPS[i % len(GROUPS)]
            screen_id = f"screen-{i:04d}"
            token = add_screen(
                conn, screen_id, f"store-{i // SCREENS_PER_STORE:03d}", now, tags={"region": group}
            )
            out[screen_id] = (token, group)
        for group in GROUPS:
            add_group(conn, group, now, selector={"region": group})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_server(url: str, work: Path, port: int, broker: str, prefix: str) -> subprocess.Popen[bytes]:
    config = work / "central.yaml"
    config.write_text(
        f"data_dir: {work / 'central-data'}\nlog_level: WARNING\n"
        f"feed:\n  mqtt_url: {broker}\n  topic_prefix: {prefix}\n"
        f"fleet:\n  central_url: {url}\n  blob_dir: {work / 'blobs'}\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-c", "from signage.cli import main; main()", "fleet", "serve"]
    server = subprocess.Popen([*command, "--port", str(port), "--config", str(config)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{API_PREFIX}/state", timeout=1).status_code == 401:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the central server did not start within 60 s")


def connections(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(conn.execute(query).scalar_one()) - 1  # not this one


def publish(
    engine: sa.Engine, blobs: BlobStore, catalog: Path, rules: list[Path], broker: str, prefix: str
) -> dict[str, tuple[str, float]]:
    """Publish to every group as ``signage fleet publish`` does; group -> (release id, time it existed)."""
    bundle = prepare_bundle(catalog, rules, Validation(timezones=("Europe/Paris",)))
    entries, _ = store_blobs(blobs, bundle.files)
    publisher = MqttCommandPublisher(Broker.from_url(broker))
    out = {}
    for group in GROUPS:
        now = SystemClock().now_utc()
        release = insert_release(engine, group, entries, f"bench: {catalog}", now)
        out[group] = (release.release_id, time.monotonic())
        pushed = publisher.publish(group_topic(prefix, group), Command("release", release.release_id, now))
        if not pushed.ok:
            print(f"  push to {group} failed: {pushed.reason}")
    return out


async def rollout(
    screens: list[SimScreen],
    groups: dict[str, str],
    published: dict[str, tuple[str, float]],
    engine: sa.Engine,
    timeout_s: float,
) -> tuple[list[float], int]:
    """Wait until every screen runs its group's release; the delays (s) and the most PG connections."""
    deadline = time.monotonic() + timeout_s
    peak = 0
    while time.monotonic() < deadline:
        peak = max(peak, await asyncio.to_thread(connections, engine))
        if all(published[groups[s.screen_id]][0] in s.figures.ran_at for s in screens):
            break
        await asyncio.sleep(0.25)
    delays = []
    for s in screens:
        release_id, at = published[groups[s.screen_id]]
        if release_id in s.figures.ran_at:
            delays.append(s.figures.ran_at[release_id] - at)
    return delays, peak


def spread(delays: list[float], total: int) -> str:
    if not delays:
        return "no screen ran it"
    late = total - len(delays)
    return f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s" + (
        f"; {late} screen(s) never ran it" if late else ""
    )


async def bench(args: argparse.Namespace, url: str, work: Path) -> None:
    engine = make_engine(url)
    central_upgrade(engine)
    store_upgrade(engine)
    t = time.monotonic()
    registry = register(engine, args.screens)
    print(f"registered {args.screens} screens in {len(GROUPS)} groups in {time.monotonic() - t:.1f} s")
    catalog, rules = write_content(work / "content", args.media_kb)
    prefix = f"bench-fleet-{secrets.token_hex(4)}"
    port = free_port()
    server = start_server(url, work, port, args.broker, prefix)
    broker = Broker.from_url(args.broker)
    screens = [
        SimScreen(sid, token, f"http://127.0.0.1:{port}", args.poll_s, seed=i)
        for i, (sid, (token, _)) in enumerate(sorted(registry.items()))
    ]
    groups = {sid: group for sid, (_, group) in registry.items()}
    wakers = MqttWakers(
        broker.host, broker.port, prefix, screens, args.mqtt_clients, asyncio.get_running_loop()
    )
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        if not wakers.wait_subscribed():
            print("warning: not every MQTT client subscribed; screens rely on polling")
        tasks = [asyncio.create_task(s.run(stop)) for s in screens]
        while any(s.figures.polls == 0 for s in screens):
            await asyncio.sleep(0.1)
        idle_connections = connections(engine)
        print(
            f"{len(screens)} simulated screens polling every {args.poll_s:g} s, {wakers.count} MQTT clients"
        )
        blobs = BlobStore(work / "blobs")

        cpu0, bytes0 = cpu_seconds(server.pid), sum(s.figures.bytes_in for s in screens)
        first = await asyncio.to_thread(publish, engine, blobs, catalog, rules, args.broker, prefix)
        delays, peak1 = await rollout(screens, groups, first, engine, 2 * args.poll_s + 60)
        moved1 = sum(s.figures.bytes_in for s in screens) - bytes0
        cpu1 = cpu_seconds(server.pid)
        size = sum(f.stat().st_size for f in [catalog, *rules, *(work / "content" / "media").iterdir()])
        print(f"release 1 ({size / 1e6:.2f} MB, {', '.join(r for r, _ in first.values())}):")
        print(f"  until every screen runs it: {spread(delays, len(screens))}")
        print(f"  bytes moved: {moved1 / 1e6:.1f} MB = {moved1 / max(1, size):.1f} x the release")
        if delays:
            print(
                f"  served at {moved1 / 1e6 / max(max(delays), 1e-3):.0f} MB/s until the last screen had it"
            )
        print(
            f"  central CPU: {cpu1 - cpu0:.1f} s; PostgreSQL connections: at most {peak1} (before the publish: {idle_connections})"
        )

        rules[1].write_text(
            RULES.format(rule_id="promo", tier=20, audience="{gender: female}", ads="ad-3"), encoding="utf-8"
        )
        second = await asyncio.to_thread(publish, engine, blobs, catalog, rules, args.broker, prefix)
        delays2, peak2 = await rollout(screens, groups, second, engine, 2 * args.poll_s + 60)
        moved2 = sum(s.figures.bytes_in for s in screens) - bytes0 - moved1
        cpu2 = cpu_seconds(server.pid)
        rule_bytes = rules[1].stat().st_size
        print("release 2 (one rule file changed):")
        print(f"  until every screen runs it: {spread(delays2, len(screens))}")
        print(
            f"  bytes moved: {moved2} B = {moved2 / max(1, rule_bytes * len(screens)):.2f} x (the rule file x screens); "
            f"{moved2 / max(1, moved1):.5f} of release 1: no media moved"
            if moved2 <= rule_bytes * len(screens)
            else f"  bytes moved: {moved2} B, more than the rule file on every screen"
        )
        print(f"  central CPU: {cpu2 - cpu1:.1f} s; PostgreSQL connections: at most {peak2}")

        t = time.monotonic()
        shipped = await asyncio.gather(*(s.ship_plays(args.plays, args.batch) for s in screens))
        elapsed = time.monotonic() - t
        cpu3 = cpu_seconds(server.pid)
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(PLAY)).scalar_one()
        rows = sum(shipped)
        print(
            f"plays: {rows} rows ({args.plays} per screen, {args.batch} a post) in {elapsed:.1f} s = {rows / elapsed:.0f} rows/s; {stored} in the central play table"
        )
        print(
            f"  central CPU: {cpu3 - cpu2:.1f} s ({(cpu3 - cpu2) / max(1, rows) * 1e6:.0f} us a row); PostgreSQL connections now {connections(engine)}"
        )
        polls = sum(s.figures.polls for s in screens)
        print(
            f"totals: central CPU {cpu3 - cpu0:.1f} s for the run; {polls} polls "
            f"({sum(s.figures.not_modified for s in screens)} answered 304), "
            f"{sum(s.figures.wakes for s in screens)} MQTT wake-ups, {sum(s.figures.errors for s in screens)} errors"
        )
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in screens:
            await s.close()
        wakers.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--plays", type=int, default=50, help="play rows each screen ships")
    parser.add_argument("--batch", type=int, default=50, help="rows a POST")
    parser.add_argument("--media-kb", type=int, default=1500, help="the release's media, about")
    parser.add_argument("--poll-s", type=float, default=60.0, help="the screens' poll interval")
    parser.add_argument("--mqtt-clients", type=int, default=8, help="paho clients the screens share")
    parser.add_argument("--postgres", default=os.environ.get("SIGNAGE_TEST_POSTGRES_URL", DEFAULT_TEST_URL))
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp, fresh_database(args.postgres) as url:
        asyncio.run(bench(args, url, Path(tmp)))
    print(f"bench took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
