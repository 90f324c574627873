"""Heartbeats and screenshots to a real central server, each kept for the token's screen only."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from uplink_helpers import NOW, Central, png

from signage.fleet.central.status_table import latest_status
from signage.fleet.central.uplink_api import screenshot_path
from signage.fleet.http_target import UplinkClient
from signage.fleet.sync import TargetError
from signage.fleet.uplink_protocol import PNG_MAGIC, ScreenStatus

pytestmark = pytest.mark.postgres


def status(**changes: object) -> ScreenStatus:
    values: dict[str, object] = {
        "sent_utc": NOW, "release_id": "north#7", "camera_online": True, "disk_free_bytes": 5 * 2**30,
        "playing_ad_id": "ad-1", "plays_last_hour": 240, "power": "on",
    }  # fmt: skip
    values.update(changes)
    return ScreenStatus(**values)  # type: ignore[arg-type]


def test_the_heartbeat_is_kept_and_published_for_the_token_s_screen(central: Central) -> None:
    with UplinkClient(central.url, central.tokens["screen-a"]) as link:
        link.post_heartbeat(status())
        link.post_heartbeat(status(sent_utc=NOW + timedelta(seconds=30), power="off", camera_covered=True))
    with central.engine.connect() as conn:
        kept = latest_status(conn, "screen-a")
        assert latest_status(conn, "screen-b") is None
        assert conn.execute(sa.text("SELECT count(*) FROM fleet_screen_status")).scalar_one() == 1
    assert kept is not None
    beat, received = kept
    assert beat == status(
        sent_utc=NOW + timedelta(seconds=30), power="off", camera_covered=True, screen_id="screen-a"
    )
    assert received == NOW  # the server's clock, not the screen's
    topics = [topic for topic, _ in central.published.sent]
    assert topics == ["acme/fleet/screen/screen-a/status"] * 2
    assert ScreenStatus.from_json(json.loads(central.published.sent[-1][1])) == beat


def test_a_heartbeat_naming_another_screen_or_out_of_shape_is_refused(central: Central) -> None:
    headers = {"Authorization": f"Bearer {central.tokens['screen-a']}"}
    url = f"{central.url}/fleet/v1/heartbeat"
    other = httpx.post(url, json=status(screen_id="screen-b").to_json(), headers=headers)
    assert other.status_code == 403
    bad = httpx.post(url, json={**status().to_json(), "power": "dim"}, headers=headers)
    assert bad.status_code == 422 and "'power'" in bad.json()["detail"]
    assert httpx.post(url, json=status().to_json()).status_code == 401
    assert central.count("fleet_screen_status") == 0 and central.published.sent == []


def test_the_screenshot_is_the_screen_s_latest_png_and_nothing_else(central: Central) -> None:
    where = screenshot_path(central.blob_dir, "screen-a")
    with UplinkClient(central.url, central.tokens["screen-a"]) as link:
        link.post_screenshot(png(shade=10))
        link.post_screenshot(png(shade=200))
        assert where.read_bytes() == png(shade=200)
        assert sorted(p.name for p in where.parent.iterdir()) == ["screen-a.png"]  # no temporary left
        with pytest.raises(TargetError, match="not a PNG"):
            link.post_screenshot(b"\xff\xd8\xff\xe0" + b"\x00" * 100)  # a JPEG is not even sent
    headers = {"Authorization": f"Bearer {central.tokens['screen-b']}"}
    url = f"{central.url}/fleet/v1/screenshot"
    jpeg = httpx.post(url, content=b"\xff\xd8\xff\xe0" + b"\x00" * 100, headers=headers)
    assert jpeg.status_code == 415
    fake = httpx.post(url, content=PNG_MAGIC + b"\x00" * 100, headers=headers)  # the magic, no IHDR
    assert fake.status_code == 415
    big = httpx.post(url, content=png() + b"\x00" * (5 * 2**20), headers=headers)
    assert big.status_code == 413
    assert httpx.post(url, content=png()).status_code == 401
    assert not screenshot_path(central.blob_dir, "screen-b").exists()
    assert where.read_bytes() == png(shade=200)
