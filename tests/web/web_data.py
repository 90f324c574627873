"""A small migrated database with two advertisers' plays, accounts, and a dashboard app on it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi.testclient import TestClient

from signage.clock import FakeClock
from signage.domain import AudienceSnapshot, Emotion, Track
from signage.impressions import ImpressionAccumulator
from signage.impressions.metrics import Impression
from signage.impressions.sink import write_impression
from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.models import HEARTBEAT, PLAY
from signage.web.app import WebConfig, create_app
from signage.web.users import Role, add_user

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
PASSWORD = "correct horse battery"
# (advertiser, campaign, ad_id, plays, viewers per play)
PLAN = (("acme", "summer-cola", "cola", 6, 2), ("bolt", "run-fast", "shoes", 4, 1))
# Campaign names that once broke a page: a slash, non-Latin letters, a spreadsheet formula.
ODD_CAMPAIGNS = ("spring/2026", "été-лето", '=HYPERLINK("http://evil")')


# The expression each viewer shows: the dashboard draws its happy-share chart only when emotion was measured.
HAPPY = tuple(0.9 if e == Emotion.HAPPY else 0.1 / 6 for e in Emotion)


def _impression(play_id: str, viewers: int) -> Impression:
    acc = ImpressionAccumulator(play_id, threshold_s=1.0, started_mono=0.0)
    tracks = tuple(
        Track(
            i,
            0.0,
            5.0,
            5.0,
            2.0 if i <= viewers else 0.3,
            False,
            age_years=30,
            p_female=0.9,
            emotion_probs=HAPPY,
        )
        for i in range(1, viewers + 2)
    )
    acc.observe(AudienceSnapshot(5.0, True, tracks))
    return acc.finish()


def add_plays(
    engine: sa.Engine, advertiser: str, campaign: str, ad_id: str, plays: int, viewers: int
) -> None:
    for i in range(plays):
        play_id = uuid.uuid4()
        started = NOW - timedelta(hours=3 * i + 1)
        with engine.begin() as conn:
            conn.execute(
                PLAY.insert().values(
                    play_id=play_id,
                    screen_id="s1",
                    ad_id=ad_id,
                    advertiser=advertiser,
                    campaign=campaign,
                    rule="default",
                    started_at=started,
                    ended_at=started + timedelta(seconds=15),
                    planned_s=15.0,
                    actual_s=15.0,
                    outcome="completed",
                    reason="",
                    audience_known=True,
                    present_at_start=0,
                    watching_at_start=0,
                )
            )
        write_impression(engine, _impression(str(play_id), viewers), "s1", started)


def build_db(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    for advertiser, campaign, ad_id, plays, viewers in PLAN:
        add_plays(engine, advertiser, campaign, ad_id, plays, viewers)
    with engine.begin() as conn:
        conn.execute(
            HEARTBEAT.insert().values(
                screen_id="s1",
                store_id="store-1",
                last_seen=NOW - timedelta(seconds=20),
                playing_ad_id="cola",
                camera_online=True,
                rules_valid=False,
                rules_error="rules/store.yaml:3:5: unknown key",
                app_version="0.1.0",
            )
        )
    add_user(engine, "admin", PASSWORD, Role.ADMIN, None, NOW)
    add_user(engine, "alice", PASSWORD, Role.ADVERTISER, "acme", NOW)
    add_user(engine, "bob", PASSWORD, Role.ADVERTISER, "bolt", NOW)
    return engine


SECRET = "test-secret-0123456789abcdef-0123456789abcdef"
HOSTS = ("testserver", "127.0.0.1")


def web_config(**kw: Any) -> WebConfig:
    options: dict[str, Any] = {"allowed_hosts": HOSTS, **kw}
    return WebConfig(secret_key=SECRET, tz=ZoneInfo("Europe/Paris"), costs={"cola": 0.4}, **options)


def client_for(
    engine: sa.Engine,
    clock: FakeClock | None = None,
    wall: FakeClock | None = None,
    client: tuple[str, int] = ("testclient", 50000),
    **kw: Any,
) -> TestClient:
    """A client of a fresh app; ``clock`` drives the login limiter, ``wall`` the sessions (default: NOW)."""
    now = wall.now_utc if wall is not None else (lambda: NOW)
    app = create_app(engine, web_config(**kw), clock=clock or FakeClock(), now=now)
    return TestClient(app, base_url="http://testserver", follow_redirects=False, client=client)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def log_in(client: TestClient, user: str, password: str = PASSWORD) -> int:
    token = csrf_of(client)
    r = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    return r.status_code
