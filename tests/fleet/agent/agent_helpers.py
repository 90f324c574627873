"""Releases built in memory for the agent tests: a catalog of PNG stills, rule files, a fake server."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from signage.clock import FakeClock
from signage.fleet.agent.agent import FleetAgent
from signage.fleet.agent.fake import FakeFleetClient
from signage.fleet.agent.store import ReleaseStore
from signage.fleet.agent.validate import ReleaseCheck
from signage.fleet.protocol import Release, ReleaseFile, ScreenState

GROUP = "north"
SCREEN = "screen-7"
CREATED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def png(shade: int, size: int = 16) -> bytes:
    ok, data = cv2.imencode(".png", np.full((size, size, 3), shade, dtype=np.uint8))
    assert ok
    return bytes(data.tobytes())


def catalog_yaml(*ad_ids: str) -> bytes:
    lines = ["ads:"]
    for ad in ad_ids:
        lines += [
            f"  - id: {ad}",
            f"    media: media/{ad}.png",
            "    advertiser: Acme",
            f"    campaign: {ad}-campaign",
        ]
    return ("\n".join(lines) + "\n").encode()


def rule_yaml(ad: str, rule_id: str = "everyone") -> bytes:
    return f"version: 1\nrules:\n  - id: {rule_id}\n    play: {{ads: [{ad}]}}\n".encode()


BROKEN_RULE = b"version: 1\nrules:\n  - id: bad\n    play: {}\n"  # says nothing to play


def release_files(*ad_ids: str, rules: bytes | None = None, shade: int = 10) -> dict[str, bytes]:
    files = {"catalog.yaml": catalog_yaml(*ad_ids), "rules/store.yaml": rules or rule_yaml(ad_ids[0])}
    for i, ad in enumerate(ad_ids):
        files[f"media/{ad}.png"] = png(shade + i)
    return files


def publish(client: FakeFleetClient, number: int, files: dict[str, bytes], group: str = GROUP) -> Release:
    """Put ``files`` on the fake server as release ``group#number`` and make it the screen's state."""
    items = []
    for path, data in sorted(files.items()):
        items.append(ReleaseFile(path, client.add_blob(data), len(data)))
    release = Release(group, number, CREATED, tuple(items))
    state = client.state
    client.state = ScreenState(SCREEN, release, state.alerts if state else (), state.hours if state else None)
    return release


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_agent(
    root: Path, client: FakeFleetClient, *, budget_bytes: int = 1 << 30, clock: FakeClock | None = None
) -> tuple[FleetAgent, ReleaseStore]:
    store = ReleaseStore(root / "fleet")
    check = ReleaseCheck(ZoneInfo("UTC"))
    agent = FleetAgent(
        client,
        store,
        check.problem,
        threading.Event(),
        clock or FakeClock(),
        poll_interval_s=60.0,
        disk_budget_bytes=budget_bytes,
    )
    return agent, store
