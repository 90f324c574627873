"""``fleet_screen_status``: each screen's latest heartbeat as the central server received it.

One row per screen, overwritten by ``POST /fleet/v1/heartbeat`` (``uplink_protocol.ScreenStatus`` plus the
time it arrived). The screen's synced ``heartbeat`` row (rules and catalog validity, app version)
comes with its other rows; this one is what it says between syncs: release on screen, camera, disk,
camera covered, plays in the last hour and power. Created by the central migration ``0002_screen_status``; its own
MetaData, so the registry's tables are declared where they always were.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from signage.fleet.uplink_protocol import ScreenStatus
from signage.store.types import UTCDateTime

metadata = sa.MetaData()

screen_status = sa.Table(
    "fleet_screen_status",
    metadata,
    sa.Column("screen_id", sa.String(64), primary_key=True),  # fleet_screen.screen_id
    sa.Column("received_utc", UTCDateTime(), nullable=False),
    sa.Column("sent_utc", UTCDateTime(), nullable=False),
    sa.Column("release_id", sa.String(80), nullable=True),
    sa.Column("camera_online", sa.Boolean(), nullable=False),
    sa.Column("camera_covered", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
    sa.Column("playing_ad_id", sa.String(128), nullable=True),
    sa.Column("plays_last_hour", sa.Integer(), nullable=False),
    sa.Column("power", sa.String(8), nullable=False),
)


def store_status(conn: Connection, status: ScreenStatus, screen_id: str, received_utc: datetime) -> None:
    """Insert or overwrite the screen's row."""
    values = {
        "screen_id": screen_id,
        "received_utc": received_utc,
        "sent_utc": status.sent_utc,
        "release_id": status.release_id,
        "camera_online": status.camera_online,
        "camera_covered": status.camera_covered,
        "disk_free_bytes": status.disk_free_bytes,
        "playing_ad_id": status.playing_ad_id,
        "plays_last_hour": status.plays_last_hour,
        "power": status.power,
    }
    stmt = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(screen_status)
    update = {k: stmt.excluded[k] for k in values if k != "screen_id"}
    conn.execute(stmt.values(values).on_conflict_do_update(index_elements=["screen_id"], set_=update))


def latest_status(conn: Connection, screen_id: str) -> tuple[ScreenStatus, datetime] | None:
    """The screen's last heartbeat and when it arrived, or None."""
    row = conn.execute(sa.select(screen_status).where(screen_status.c.screen_id == screen_id)).first()
    if row is None:
        return None
    status = ScreenStatus(
        sent_utc=row.sent_utc,
        release_id=row.release_id,
        camera_online=row.camera_online,
        camera_covered=row.camera_covered,
        disk_free_bytes=row.disk_free_bytes,
        playing_ad_id=row.playing_ad_id,
        plays_last_hour=row.plays_last_hour,
        power="off" if row.power == "off" else "on",
        screen_id=row.screen_id,
    )
    return status, row.received_utc
