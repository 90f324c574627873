"""The dashboard's fleet page on a real central PostgreSQL: every screen's health, alerts, stores,
groups and releases, screenshots for the admin only, and a plain sentence without a registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from web_data import NOW, PASSWORD, client_for, log_in

from signage.fleet.central.alerts import create_alert
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.health import HealthLimits
from signage.fleet.central.migrate import upgrade as central_upgrade
from signage.fleet.central.registry import add_group, add_screen, add_store
from signage.fleet.central.releases import insert_release
from signage.fleet.central.status_table import store_status
from signage.fleet.central.uplink_api import screenshot_path, write_atomically
from signage.fleet.protocol import ReleaseFile
from signage.fleet.uplink_protocol import PNG_MAGIC, ScreenStatus
from signage.settings import FleetHealthSettings, FleetSettings, Settings
from signage.store.engine import make_engine
from signage.store.migrate import upgrade as store_upgrade
from signage.store.models import PLAY
from signage.web.fleet_pages import FleetPageConfig
from signage.web.headers import CONTENT_SECURITY_POLICY
from signage.web.server import fleet_page_config
from signage.web.users import Role, add_user

pytestmark = pytest.mark.postgres
PNG = PNG_MAGIC + b"\x00\x00\x00\x0dIHDR" + b"\x00" * 17
CATALOG = ReleaseFile("catalog.yaml", "c" * 64, 2_000_000)


@pytest.fixture
def dashboard_db(pg_url: str) -> Iterator[sa.Engine]:
    """The dashboard's database: the store's tables and its accounts (no registry yet)."""
    engine = make_engine(pg_url)
    store_upgrade(engine)
    add_user(engine, "admin", PASSWORD, Role.ADMIN, None, NOW)
    add_user(engine, "alice", PASSWORD, Role.ADVERTISER, "acme", NOW)
    yield engine
    engine.dispose()


def beat(engine: sa.Engine, screen_id: str, age: timedelta, **kw: object) -> None:
    values: dict[str, object] = {
        "release_id": "north#2",
        "camera_online": True,
        "disk_free_bytes": 3_400_000_000,
        "playing_ad_id": "cola",
        "plays_last_hour": 0,
    }
    values.update(kw)
    status = ScreenStatus(sent_utc=NOW - age, **values)  # type: ignore[arg-type]
    with engine.begin() as conn:
        store_status(conn, status, screen_id, NOW - age)


def build_fleet(engine: sa.Engine, blob_root: Path) -> None:
    central_upgrade(engine)
    with engine.begin() as conn:
        add_store(conn, "paris-1", "Paris Opéra", "Europe/Paris", NOW - timedelta(days=9))
        add_store(conn, "lyon-2", "Lyon", "Europe/Paris", NOW - timedelta(days=9))
        add_screen(conn, "s1", "paris-1", NOW - timedelta(days=9), tags={"region": "north"})
        add_screen(conn, "s2", "paris-1", NOW - timedelta(days=9), tags={"region": "north"})
        add_screen(conn, "s3", "lyon-2", NOW - timedelta(days=9), tags={"region": "south"})
        add_group(conn, "north", NOW, selector={"region": "north"})
        add_group(conn, "south", NOW, selector={"region": "south"})
    insert_release(engine, "north", [CATALOG], "catalog.yaml (2 ads) + 1 rule file(s)", NOW)
    insert_release(engine, "north", [CATALOG], "catalog.yaml (3 ads) + 1 rule file(s)", NOW)
    beat(engine, "s1", timedelta(seconds=30))
    beat(engine, "s2", timedelta(seconds=40), release_id="north#1", camera_online=False)
    beat(engine, "s3", timedelta(minutes=20), release_id=None)
    with engine.begin() as conn:
        for minutes in (5, 25, 90):
            started = NOW - timedelta(minutes=minutes)
            conn.execute(
                PLAY.insert().values(
                    play_id=uuid.uuid4(),
                    screen_id="s1",
                    ad_id="cola",
                    advertiser="acme",
                    campaign="summer-cola",
                    started_at=started,
                    ended_at=started + timedelta(seconds=15),
                    planned_s=15.0,
                    actual_s=15.0,
                    outcome="completed",
                )
            )
    create_alert(engine, BlobStore(blob_root), "north", "Evacuate by the east exit", NOW)
    write_atomically(screenshot_path(blob_root, "s1"), PNG)


def rows_of(html: str) -> dict[str, str]:
    """screen id -> its table row's HTML, from the screens table."""
    out = {}
    for part in html.split("<tr><td>")[1:]:
        screen_id, _, rest = part.partition("</td>")
        out[screen_id] = rest.split("</tr>")[0]
    return out


def test_without_a_registry_the_page_says_so(dashboard_db: sa.Engine) -> None:
    client = client_for(dashboard_db)
    assert client.get("/admin/fleet").status_code == 303  # log in first
    assert log_in(client, "admin") == 303
    page = client.get("/admin/fleet")
    assert page.status_code == 200
    assert "There is no fleet registry in this database" in page.text
    assert '<a href="/admin/fleet">Fleet</a>' in page.text


def test_the_admin_sees_every_screen_and_the_fleet(dashboard_db: sa.Engine, tmp_path: Path) -> None:
    build_fleet(dashboard_db, tmp_path)
    client = client_for(dashboard_db, fleet=FleetPageConfig(blob_root=tmp_path))
    assert log_in(client, "admin") == 303
    page = client.get("/admin/fleet")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    html = page.text
    assert "3 screen(s): 2 online, 1 behind their group's release, 2 with a health alert." in html
    rows = rows_of(html)
    s1, s2, s3 = rows["s1"], rows["s2"], rows["s3"]
    assert '<td class="ok">online</td>' in s1 and "(30 s ago)" in s1
    assert '<td class="ok">north#2 (current)</td>' in s1
    assert "<td>2</td>" in s1, "two plays of s1 started in the last hour"
    assert "<td>3.4 GB</td>" in s1
    assert '<img src="/admin/fleet/screens/s1/screenshot.png"' in s1
    assert '<td class="ok">fine</td>' in s1
    assert "still runs an old release (north#2 is current)" in s2
    assert '<td class="error">offline</td>' in s2 and "camera offline" in s2
    assert '<td class="error">offline</td>' in s3 and "(20 min ago)" in s3 and ">silent</td>" in s3
    assert "<td>unknown</td>" not in s3 and '<td class="error">unknown</td>' in s3
    assert "Evacuate by the east exit" in html
    assert "<td>paris-1</td><td>Paris Opéra</td><td>Europe/Paris</td><td>always open</td><td>2</td>" in html
    assert "north#2 (2026-05-04 12:00 UTC, 1 files, 2 MB): catalog.yaml (3 ads) + 1 rule file(s)" in html
    assert "<td>south</td><td>region=south</td><td>1</td><td>0</td>" in html and "none published" in html

    shot = client.get("/admin/fleet/screens/s1/screenshot.png")
    assert shot.status_code == 200 and shot.content == PNG
    assert shot.headers["content-type"] == "image/png"
    assert shot.headers["x-content-type-options"] == "nosniff"
    assert client.get("/admin/fleet/screens/s2/screenshot.png").status_code == 404
    assert client.get("/admin/fleet/screens/..%2Fs1/screenshot.png").status_code == 404


def test_an_advertiser_gets_404(dashboard_db: sa.Engine, tmp_path: Path) -> None:
    build_fleet(dashboard_db, tmp_path)
    client = client_for(dashboard_db, fleet=FleetPageConfig(blob_root=tmp_path))
    assert log_in(client, "alice") == 303
    assert client.get("/admin/fleet").status_code == 404
    assert client.get("/admin/fleet/screens/s1/screenshot.png").status_code == 404
    assert 'href="/admin/fleet"' not in client.get("/").text


def test_the_page_config_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        fleet=FleetSettings(health=FleetHealthSettings(silent_after_min=2, standby_only_after_min=9)),
    )
    config = fleet_page_config(settings)
    assert config.blob_root == tmp_path / "fleet-blobs"  # where `signage fleet serve` keeps screenshots
    assert config.limits == HealthLimits(timedelta(minutes=2), timedelta(minutes=9))
    absolute = fleet_page_config(
        Settings(data_dir=tmp_path, fleet=FleetSettings(blob_dir=tmp_path / "elsewhere"))
    )
    assert absolute.blob_root == tmp_path / "elsewhere"
