"""A small migrated database with two advertisers' plays, accounts, and a dashboard app on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from signage.domain import AudienceSnapshot, Track
from signage.impressions import ImpressionAccumulator
from signage.impressions.sink import write_impression
from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.models import HEARTBEAT, PLAY
from signage.web.app import WebConfig
from signage.web.users import Role, add_user

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
PASSWORD = "correct horse battery"
# (advertiser, campaign, ad_id, plays, viewers per play)
PLAN = (("acme", "summer-cola", "cola", 6, 2), ("bolt", "run-fast", "shoes", 4, 1))


def _impression(play_id: str, viewers: int):
    acc = ImpressionAccumulator(play_id, threshold_s=1.0, started_mono=0.0)
    tracks = tuple(
        Track(i, 0.0, 5.0, 5.0, 2.0 if i <= viewers else 0.3, False, age_years=30, p_female=0.9)
        for i in range(1, viewers + 2)
    )
    acc.observe(AudienceSnapshot(5.0, True, tracks))
    return acc.finish()


def build_db(path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    for advertiser, campaign, ad_id, plays, viewers in PLAN:
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


def web_config(**kw: object) -> WebConfig:
    return WebConfig(
        secret_key="test-secret-0123456789abcdef", tz=ZoneInfo("Europe/Paris"), costs={"cola": 0.4}, **kw
    )  # type: ignore[arg-type]
