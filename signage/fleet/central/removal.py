"""Removing stores and groups, and one group's whole picture (``signage fleet groups show``).

Nothing that history names is deleted. A group with no release and no alert is deleted outright
(its name is free again). A group with releases or alerts is refused unless forced; forced, it is
*detached*: marked removed, its listed members dropped and its alerts cleared, so it holds no screen
and takes no publish, while its releases (immutable) and alerts stay for audit under its name,
which is therefore never reused. A store is removed only when no active screen stands in it; its
row stays (removed screens and play rows name it) and adding the same id again brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signage.fleet.central import tables as t
from signage.fleet.central.alerts import active_alerts
from signage.fleet.central.registry import (
    GroupRow,
    RegistryError,
    get_screen,
    get_store,
    groups_of,
    list_groups,
    list_screens,
)
from signage.fleet.central.releases import ReleaseRow, list_releases, newest_release
from signage.fleet.central.status_table import latest_status
from signage.fleet.protocol import Alert


def _count(conn: Connection, table: sa.Table, group: str) -> int:
    query = sa.select(sa.func.count()).select_from(table).where(table.c.group_name == group)
    return int(conn.execute(query).scalar_one())


def remove_group(conn: Connection, name: str, now: datetime, *, force: bool = False) -> bool:
    """Remove a group; True when it was deleted outright, False when detached (``force``)."""
    if name not in {g.name for g in list_groups(conn)}:
        raise RegistryError(f"no group {name!r}; `signage fleet groups list` shows them")
    releases, alerts = _count(conn, t.release, name), _count(conn, t.alert, name)
    if (releases or alerts) and not force:
        raise RegistryError(
            f"group {name!r} has {releases} release(s) and {alerts} alert(s); "
            f"`signage fleet groups remove {name} --force` detaches its screens and keeps them for audit"
        )
    conn.execute(t.group_member.delete().where(t.group_member.c.group_name == name))
    if not releases and not alerts:
        conn.execute(t.group.delete().where(t.group.c.name == name))
        return True
    conn.execute(
        t.alert.update()
        .where(t.alert.c.group_name == name, t.alert.c.cleared_utc.is_(None))
        .values(cleared_utc=now)
    )
    conn.execute(t.group.update().where(t.group.c.name == name).values(removed_utc=now))
    return False


def remove_store(conn: Connection, store_id: str, now: datetime) -> None:
    store = get_store(conn, store_id)
    if store is None or store.removed_utc is not None:
        raise RegistryError(f"no store {store_id!r}; `signage fleet stores list` shows them")
    inside = [s.screen_id for s in list_screens(conn) if s.store_id == store_id]
    if inside:
        shown = ", ".join(inside[:5]) + (", ..." if len(inside) > 5 else "")
        raise RegistryError(
            f"store {store_id!r} still has {len(inside)} active screen(s) ({shown}); "
            "remove them first with `signage fleet screens remove`"
        )
    conn.execute(t.store.update().where(t.store.c.store_id == store_id).values(removed_utc=now))


@dataclass(frozen=True)
class MemberView:
    screen_id: str
    expected: str | None  # the release the server gives it (the newest of all its groups)
    reported: str | None  # what its last heartbeat said it plays
    heard_utc: datetime | None  # when that heartbeat arrived


@dataclass(frozen=True)
class GroupView:
    group: GroupRow
    newest: ReleaseRow | None
    releases: int
    alerts: tuple[Alert, ...]  # active now
    members: tuple[MemberView, ...]


def group_view(conn: Connection, name: str, now: datetime) -> GroupView:
    group = next((g for g in list_groups(conn) if g.name == name), None)
    if group is None:
        raise RegistryError(f"no group {name!r}; `signage fleet groups list` shows them")
    rows = list_releases(conn, name)
    members = []
    for screen_id in group.members:
        screen = get_screen(conn, screen_id)
        expected = newest_release(conn, groups_of(conn, screen)) if screen is not None else None
        status = latest_status(conn, screen_id)
        members.append(
            MemberView(
                screen_id,
                expected.release_id if expected else None,
                status[0].release_id if status else None,
                status[1] if status else None,
            )
        )
    return GroupView(
        group, rows[-1] if rows else None, len(rows), active_alerts(conn, [name], now), tuple(members)
    )
