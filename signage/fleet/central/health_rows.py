"""The facts of fleet health, read from the central database (``health.ScreenFacts`` per screen).

A handful of grouped queries for the whole fleet (not one per screen): the registry's screens and
groups, each group's newest release, ``fleet_screen_status``, and, where the store's tables are in
the same database, the ``play`` and ``power_event`` rows. Screenshots are files the uplink keeps
under the blob store (``uplink_api.screenshot_path``); their modification time is when they came.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signage.domain import STANDBY_ID
from signage.fleet.central import tables as t
from signage.fleet.central.health import ScreenFacts
from signage.fleet.central.registry import list_groups, list_screens
from signage.fleet.central.status_table import screen_status
from signage.fleet.central.uplink_api import screenshot_path
from signage.fleet.power_table import POWER_EVENT
from signage.fleet.uplink_protocol import ScreenStatus
from signage.store.models import PLAY

REGISTRY_TABLE = t.screen.name


def has_registry(conn: Connection) -> bool:
    """Whether this database holds the central registry (``signage fleet`` has migrated it)."""
    return sa.inspect(conn).has_table(REGISTRY_TABLE)


def newest_release_ids(conn: Connection) -> dict[str, tuple[int, str]]:
    """group -> (seq, release id) of its newest release."""
    newest = (
        sa.select(t.release.c.group_name, sa.func.max(t.release.c.seq).label("seq"))
        .group_by(t.release.c.group_name)
        .subquery()
    )
    query = sa.select(t.release.c.group_name, t.release.c.number, t.release.c.seq).join(
        newest, sa.and_(newest.c.group_name == t.release.c.group_name, newest.c.seq == t.release.c.seq)
    )
    return {row.group_name: (row.seq, f"{row.group_name}#{row.number}") for row in conn.execute(query)}


def expected_release(groups: Iterable[str], newest: dict[str, tuple[int, str]]) -> str | None:
    """The last release published to any of ``groups`` ("the last publish wins")."""
    found = [newest[g] for g in groups if g in newest]
    return max(found)[1] if found else None


def _statuses(conn: Connection) -> dict[str, tuple[ScreenStatus, datetime]]:
    if not sa.inspect(conn).has_table(screen_status.name):
        return {}
    out = {}
    for row in conn.execute(sa.select(screen_status)):
        status = ScreenStatus(
            sent_utc=row.sent_utc,
            release_id=row.release_id,
            camera_online=row.camera_online,
            disk_free_bytes=row.disk_free_bytes,
            playing_ad_id=row.playing_ad_id,
            plays_last_hour=row.plays_last_hour,
            power="off" if row.power == "off" else "on",
            screen_id=row.screen_id,
            camera_covered=row.camera_covered,
        )
        out[row.screen_id] = (status, row.received_utc)
    return out


def _plays(conn: Connection, now: datetime) -> dict[str, tuple[int, datetime | None]]:
    """screen -> (plays started in the last hour, when its newest play ended or started)."""
    if not sa.inspect(conn).has_table(PLAY.name):
        return {}
    hour_ago = now - timedelta(hours=1)
    recent = sa.func.count().filter(PLAY.c.started_at >= hour_ago)
    last = sa.func.max(sa.func.coalesce(PLAY.c.ended_at, PLAY.c.started_at))
    query = (
        sa.select(PLAY.c.screen_id, recent.label("recent"), last.label("last"))
        .where(PLAY.c.ad_id != STANDBY_ID)
        .group_by(PLAY.c.screen_id)
    )
    return {row.screen_id: (int(row.recent), _utc(row.last)) for row in conn.execute(query)}


def _powered_on(conn: Connection) -> dict[str, datetime]:
    if not sa.inspect(conn).has_table(POWER_EVENT.name):
        return {}
    query = (
        sa.select(POWER_EVENT.c.screen_id, sa.func.max(POWER_EVENT.c.at).label("at"))
        .where(POWER_EVENT.c.state == "on")
        .group_by(POWER_EVENT.c.screen_id)
    )
    return {row.screen_id: at for row in conn.execute(query) if (at := _utc(row.at)) is not None}


def _utc(value: object) -> datetime | None:
    """An aggregate's time: SQLite's MAX() gives text, PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def screenshot_time(screenshot_root: Path | None, screen_id: str) -> datetime | None:
    if screenshot_root is None:
        return None
    try:
        mtime = screenshot_path(screenshot_root, screen_id).stat().st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(mtime, UTC)


def fleet_facts(conn: Connection, now: datetime, blob_root: Path | None = None) -> list[ScreenFacts]:
    """Every active screen's facts; ``blob_root``: the server's blob store (for screenshots)."""
    groups_of: dict[str, list[str]] = {}
    for group in list_groups(conn):
        for screen_id in group.members:
            groups_of.setdefault(screen_id, []).append(group.name)
    newest = newest_release_ids(conn)
    statuses = _statuses(conn)
    plays = _plays(conn, now)
    powered = _powered_on(conn)
    facts = []
    for screen in list_screens(conn):
        groups = tuple(groups_of.get(screen.screen_id, ()))
        status, received = statuses.get(screen.screen_id, (None, None))
        recent, last_play = plays.get(screen.screen_id, (0, None))
        facts.append(
            ScreenFacts(
                screen_id=screen.screen_id,
                store_id=screen.store_id,
                groups=groups,
                registered_utc=screen.created_utc,
                status=status,
                received_utc=received,
                expected_release_id=expected_release(groups, newest),
                plays_last_hour=recent,
                last_play_utc=last_play,
                powered_on_utc=powered.get(screen.screen_id),
                screenshot_utc=screenshot_time(blob_root, screen.screen_id),
            )
        )
    return facts
