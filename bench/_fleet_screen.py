"""THE SIMULATED SCREEN of bench/fleet.py: the fleet protocol's client side, without a player.

A real screen runs ``signage.fleet.agent`` (a thread per screen, a release store on disk, the
player's own validation); 200 of those would measure this machine's disk and threads, not the
central server. A simulated screen speaks the same wire protocol with asyncio and httpx:

- ``GET /fleet/v1/state`` with ``If-None-Match`` (the agent's poll), parsed by
  ``protocol.ScreenState.from_json``; every ``poll_s`` (with jitter) and at once when woken;
- ``GET /fleet/v1/blobs/<sha256>`` for each file whose content it lacks (by hash, as the agent's
  blob store does), streamed, sha256-verified and counted, then dropped (no disk);
- ``POST /fleet/v1/heartbeat`` (a ``uplink_protocol.ScreenStatus``) once a release runs;
- ``POST /fleet/v1/rows/play``: play rows encoded by ``signage.fleet.rowcodec``, as the uplink does.

MQTT wake-ups are multiplexed: a few paho clients (``MqttWakers``), each subscribed, like the
agent, to its screens' own command topics and to every group's (``<prefix>/fleet/group/+/cmd``);
a message wakes the screens it concerns on the asyncio loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from signage.fleet.protocol import API_PREFIX, ScreenState, screen_topic
from signage.fleet.rowcodec import encode_rows
from signage.fleet.uplink_protocol import ScreenStatus, rows_path
from signage.store.models import PLAY, play_values
from signage.testing.sample_plays import sample_play


@dataclass
class ScreenFigures:
    bytes_in: int = 0
    blobs: int = 0
    polls: int = 0
    not_modified: int = 0
    wakes: int = 0
    errors: int = 0
    ran_at: dict[str, float] = field(default_factory=dict)  # release id -> monotonic time it ran


class SimScreen:
    def __init__(self, screen_id: str, token: str, base_url: str, poll_s: float, seed: int) -> None:
        self.screen_id = screen_id
        self.figures = ScreenFigures()
        self.running: str | None = None
        self._have: set[str] = set()
        self._etag: str | None = None
        self._poll_s = poll_s
        self._rng = random.Random(seed)
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "signage-bench-screen"},
            timeout=httpx.Timeout(60.0, connect=10.0),
            limits=httpx.Limits(max_connections=2),
        )

    def wake(self) -> None:
        self.figures.wakes += 1
        self._wake.set()

    async def close(self) -> None:
        await self._http.aclose()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.poll_once()
            except (httpx.HTTPError, ValueError) as exc:
                self.figures.errors += 1
                if self.figures.errors <= 3:
                    print(f"  {self.screen_id}: {type(exc).__name__}: {exc}")
            delay = self._poll_s * self._rng.uniform(0.9, 1.1)
            waiting = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiting, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for task in waiting:
                task.cancel()
            self._wake.clear()

    async def poll_once(self) -> None:
        self.figures.polls += 1
        headers = {"If-None-Match": self._etag} if self._etag else {}
        response = await self._http.get(f"{API_PREFIX}/state", headers=headers)
        if response.status_code == 304:
            self.figures.not_modified += 1
            return
        response.raise_for_status()
        state = ScreenState.from_json(json.loads(response.content))
        release = state.release
        if self.figures.polls == 1:
            await self.heartbeat()  # a screen says it is alive from its start, release or not
        if release is not None and release.release_id != self.running:
            for item in release.files:
                if item.sha256 not in self._have:
                    await self._download(item.sha256, item.size)
            self.running = release.release_id
            self.figures.ran_at[release.release_id] = time.monotonic()
            await self.heartbeat()
        self._etag = response.headers.get("ETag")

    async def _download(self, sha256: str, size: int) -> None:
        digest = hashlib.sha256()
        received = 0
        async with self._http.stream("GET", f"{API_PREFIX}/blobs/{sha256}") as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes(256 * 1024):
                digest.update(chunk)
                received += len(chunk)
        self.figures.bytes_in += received
        if received != size or digest.hexdigest() != sha256:
            raise ValueError(f"blob {sha256[:12]} arrived with a wrong size or hash")
        self.figures.blobs += 1
        self._have.add(sha256)

    async def heartbeat(self) -> None:
        status = ScreenStatus(
            sent_utc=datetime.now(UTC),
            release_id=self.running,
            camera_online=True,
            disk_free_bytes=40_000_000_000,
            playing_ad_id="ad-0",
            plays_last_hour=0,
        )
        response = await self._http.post(f"{API_PREFIX}/heartbeat", json=status.to_json())
        response.raise_for_status()

    async def ship_plays(self, count: int, batch: int) -> int:
        """Post ``count`` play rows in batches of ``batch``; the rows the server accepted."""
        start = datetime.now(UTC) - timedelta(hours=2)
        accepted = 0
        for first in range(0, count, batch):
            plays = [
                play_values(sample_play(i, screen_id=self.screen_id, start=start, play_id=str(uuid.uuid4())))
                for i in range(first, min(count, first + batch))
            ]
            response = await self._http.post(rows_path("play"), json={"rows": encode_rows(PLAY, plays)})
            response.raise_for_status()
            accepted += int(response.json()["accepted"])
        return accepted


class MqttWakers:
    """A few paho clients that wake the simulated screens on the asyncio loop."""

    def __init__(
        self, host: str, port: int, prefix: str, screens: Sequence[SimScreen], clients: int, loop: Any
    ) -> None:
        import paho.mqtt.client as mqtt

        self._loop = loop
        self._clients: list[Any] = []
        self._subscribed = threading.Semaphore(0)
        shares = [list(screens[i::clients]) for i in range(clients)]
        for index, share in enumerate(s for s in shares if s):
            by_topic = {screen_topic(prefix, s.screen_id): [s] for s in share}
            client = mqtt.Client(
                mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-wake-{index}-{uuid.uuid4().hex[:6]}"
            )
            client.disable_logger()
            topics = [(t, 1) for t in by_topic] + [(f"{prefix}/fleet/group/+/cmd", 1)]
            client.user_data_set((by_topic, share, topics))
            client.on_connect = self._on_connect
            client.on_subscribe = lambda *_a: self._subscribed.release()
            client.on_message = self._on_message
            client.connect(host, port, keepalive=60)
            client.loop_start()
            self._clients.append(client)

    @staticmethod
    def _on_connect(client: Any, userdata: Any, _f: Any, _rc: Any, _p: Any) -> None:
        client.subscribe(userdata[2])

    def _on_message(self, _client: Any, userdata: Any, message: Any) -> None:
        by_topic, share, _ = userdata
        for screen in by_topic.get(message.topic, share):
            self._loop.call_soon_threadsafe(screen.wake)

    def wait_subscribed(self, timeout_s: float = 30.0) -> bool:
        return all(self._subscribed.acquire(timeout=timeout_s) for _ in self._clients)

    @property
    def count(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()
