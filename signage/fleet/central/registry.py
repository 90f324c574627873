"""The registry: stores, screens (with their tokens) and groups, and which screens a group holds.

A screen's token is shown once, when it is made; only its sha256 is kept, so a database dump does
not let anyone pose as a screen. Removing a screen keeps its row (its plays still name it) and
revokes its token; adding the same id again brings it back with a new token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signage.fleet.central import tables as t
from signage.fleet.protocol import ProtocolError, StoreHours, check_name


class RegistryError(ValueError):
    """A registry change that was refused; one sentence, nothing was changed."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def checked_name(value: str, what: str) -> str:
    try:
        return check_name(value, what)
    except ProtocolError as exc:
        raise RegistryError(str(exc)) from None


def checked_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except Exception:  # not found, a folder, a bad name
        raise RegistryError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'") from None
    return value


def parse_tags(items: Iterable[str]) -> dict[str, str]:
    """``["region=north", "floor=2"]`` as a mapping; keys and values follow the name rule."""
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise RegistryError(f"tag {item!r} is not KEY=VALUE, e.g. region=north")
        key = checked_name(key.strip(), "tag name")
        if key in tags:
            raise RegistryError(f"tag {key!r} is given twice")
        tags[key] = checked_name(value.strip(), f"value of tag {key!r}")
    return tags


@dataclass(frozen=True)
class StoreRow:
    store_id: str
    name: str
    timezone: str
    hours: StoreHours | None
    removed_utc: datetime | None = None


@dataclass(frozen=True)
class ScreenRow:
    screen_id: str
    store_id: str
    timezone: str  # its own, or its store's
    tags: Mapping[str, str]
    created_utc: datetime
    removed_utc: datetime | None

    @property
    def active(self) -> bool:
        return self.removed_utc is None


@dataclass(frozen=True)
class GroupRow:
    name: str
    selector: Mapping[str, str] | None  # None: listed members only; {}: every screen
    listed: tuple[str, ...]
    members: tuple[str, ...] = field(default=())  # resolved: active screens only

    def holds(self, screen: ScreenRow) -> bool:
        if not screen.active:
            return False
        if screen.screen_id in self.listed:
            return True
        return self.selector is not None and all(screen.tags.get(k) == v for k, v in self.selector.items())

    def describe_selector(self) -> str:
        if self.selector is None:
            return "-"
        return ",".join(f"{k}={v}" for k, v in sorted(self.selector.items())) or "every screen"


def _store(row: sa.Row[Any]) -> StoreRow:
    hours = StoreHours.from_json(row.hours) if row.hours is not None else None
    return StoreRow(row.store_id, row.name, row.timezone, hours, row.removed_utc)


def add_store(conn: Connection, store_id: str, name: str, timezone: str, now: datetime) -> StoreRow:
    checked_name(store_id, "store id")
    checked_timezone(timezone)
    existing = get_store(conn, store_id)
    if existing is not None and existing.removed_utc is None:
        raise RegistryError(f"store {store_id!r} already exists")
    name = name or store_id
    if existing is not None:  # a removed store comes back, without its old hours
        values = {"name": name, "timezone": timezone, "hours": None, "removed_utc": None}
        conn.execute(t.store.update().where(t.store.c.store_id == store_id).values(**values))
        return StoreRow(store_id, name, timezone, None)
    conn.execute(
        t.store.insert().values(store_id=store_id, name=name, timezone=timezone, hours=None, created_utc=now)
    )
    return StoreRow(store_id, name, timezone, None)


def get_store(conn: Connection, store_id: str) -> StoreRow | None:
    row = conn.execute(sa.select(t.store).where(t.store.c.store_id == store_id)).first()
    return _store(row) if row is not None else None


def list_stores(conn: Connection, *, include_removed: bool = False) -> list[StoreRow]:
    query = sa.select(t.store).order_by(t.store.c.store_id)
    if not include_removed:
        query = query.where(t.store.c.removed_utc.is_(None))
    return [_store(r) for r in conn.execute(query)]


def set_hours(conn: Connection, store_id: str, hours: StoreHours | None) -> None:
    """Replace a store's hours (``None``: always open); they carry the store's time zone."""
    store = get_store(conn, store_id)
    if store is None or store.removed_utc is not None:
        raise RegistryError(f"no store {store_id!r}; add it with `signage fleet stores add`")
    if hours is not None and hours.timezone != store.timezone:
        raise RegistryError(f"hours in {hours.timezone} for store {store_id!r} in {store.timezone}")
    doc = hours.to_json() if hours is not None else None
    conn.execute(t.store.update().where(t.store.c.store_id == store_id).values(hours=doc))


def _screen_select() -> sa.Select[Any]:
    return sa.select(t.screen, t.store.c.timezone.label("store_timezone")).join(
        t.store, t.store.c.store_id == t.screen.c.store_id
    )


def _screen(row: sa.Row[Any]) -> ScreenRow:
    return ScreenRow(
        screen_id=row.screen_id,
        store_id=row.store_id,
        timezone=row.timezone or row.store_timezone,
        tags=dict(row.tags or {}),
        created_utc=row.created_utc,
        removed_utc=row.removed_utc,
    )


def get_screen(conn: Connection, screen_id: str) -> ScreenRow | None:
    row = conn.execute(_screen_select().where(t.screen.c.screen_id == screen_id)).first()
    return _screen(row) if row is not None else None


def list_screens(conn: Connection, *, include_removed: bool = False) -> list[ScreenRow]:
    query = _screen_select().order_by(t.screen.c.screen_id)
    if not include_removed:
        query = query.where(t.screen.c.removed_utc.is_(None))
    return [_screen(r) for r in conn.execute(query)]


def screen_for_token(conn: Connection, token: str) -> ScreenRow | None:
    """The active screen whose token this is, or None."""
    query = _screen_select().where(
        t.screen.c.token_sha256 == hash_token(token), t.screen.c.removed_utc.is_(None)
    )
    row = conn.execute(query).first()
    return _screen(row) if row is not None else None


def add_screen(
    conn: Connection,
    screen_id: str,
    store_id: str,
    now: datetime,
    *,
    timezone: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register a screen (or bring a removed one back); returns its new token, to show once."""
    checked_name(screen_id, "screen id")
    if timezone is not None:
        checked_timezone(timezone)
    store = get_store(conn, store_id)
    if store is None or store.removed_utc is not None:
        raise RegistryError(f"no store {store_id!r}; add it with `signage fleet stores add` first")
    existing = get_screen(conn, screen_id)
    if existing is not None and existing.active:
        raise RegistryError(
            f"screen {screen_id!r} already exists; `screens rotate-token` gives it a new token"
        )
    token = new_token()
    values = {
        "store_id": store_id,
        "timezone": timezone,
        "tags": dict(tags or {}),
        "token_sha256": hash_token(token),
        "removed_utc": None,
    }
    if existing is None:
        conn.execute(t.screen.insert().values(screen_id=screen_id, created_utc=now, **values))
    else:
        conn.execute(t.screen.update().where(t.screen.c.screen_id == screen_id).values(**values))
    return token


def _active_screen_or_error(conn: Connection, screen_id: str) -> ScreenRow:
    screen = get_screen(conn, screen_id)
    if screen is None or not screen.active:
        raise RegistryError(f"no screen {screen_id!r}; `signage fleet screens list` shows them")
    return screen


def remove_screen(conn: Connection, screen_id: str, now: datetime) -> None:
    """Revoke the screen's token and drop it from every group; its row stays for its history."""
    _active_screen_or_error(conn, screen_id)
    # The old token's hash is replaced by that of a token nobody ever saw.
    conn.execute(
        t.screen.update()
        .where(t.screen.c.screen_id == screen_id)
        .values(removed_utc=now, token_sha256=hash_token(new_token()))
    )


def rotate_token(conn: Connection, screen_id: str) -> str:
    _active_screen_or_error(conn, screen_id)
    token = new_token()
    conn.execute(
        t.screen.update().where(t.screen.c.screen_id == screen_id).values(token_sha256=hash_token(token))
    )
    return token


def add_group(
    conn: Connection,
    name: str,
    now: datetime,
    *,
    selector: Mapping[str, str] | None = None,
    members: Iterable[str] = (),
) -> None:
    checked_name(name, "group name")
    listed = list(dict.fromkeys(members))
    if selector is None and not listed:
        raise RegistryError(
            f"group {name!r} would hold no screen; give --tag KEY=VALUE, --screen ID or --all"
        )
    old = conn.execute(sa.select(t.group.c.removed_utc).where(t.group.c.name == name)).first()
    if old is not None and old.removed_utc is not None:
        raise RegistryError(
            f"group {name!r} was removed on {old.removed_utc:%Y-%m-%d} and its releases are kept "
            "under that name for audit; choose another name"
        )
    if old is not None:
        raise RegistryError(f"group {name!r} already exists")
    for screen_id in listed:
        _active_screen_or_error(conn, screen_id)
    conn.execute(
        t.group.insert().values(
            name=name, selector=dict(selector) if selector is not None else None, created_utc=now
        )
    )
    if listed:
        conn.execute(t.group_member.insert(), [{"group_name": name, "screen_id": s} for s in listed])


def group_exists(conn: Connection, name: str, *, include_removed: bool = False) -> bool:
    query = sa.select(t.group.c.name).where(t.group.c.name == name)
    if not include_removed:
        query = query.where(t.group.c.removed_utc.is_(None))
    return conn.execute(query).first() is not None


def list_groups(conn: Connection) -> list[GroupRow]:
    """Every group with its members resolved against the active screens."""
    listed: dict[str, list[str]] = {}
    for row in conn.execute(sa.select(t.group_member).order_by(t.group_member.c.screen_id)):
        listed.setdefault(row.group_name, []).append(row.screen_id)
    screens = list_screens(conn)
    groups = []
    for row in conn.execute(
        sa.select(t.group).where(t.group.c.removed_utc.is_(None)).order_by(t.group.c.name)
    ):
        selector = dict(row.selector) if row.selector is not None else None
        group = GroupRow(row.name, selector, tuple(listed.get(row.name, ())))
        members = tuple(s.screen_id for s in screens if group.holds(s))
        groups.append(GroupRow(group.name, group.selector, group.listed, members))
    return groups


def groups_of(conn: Connection, screen: ScreenRow) -> tuple[str, ...]:
    """The names of the groups that hold ``screen`` (none once it is removed)."""
    if not screen.active:
        return ()
    listed = {
        row.group_name
        for row in conn.execute(
            sa.select(t.group_member.c.group_name).where(t.group_member.c.screen_id == screen.screen_id)
        )
    }
    names = []
    query = sa.select(t.group.c.name, t.group.c.selector).where(t.group.c.removed_utc.is_(None))
    for row in conn.execute(query.order_by(t.group.c.name)):
        group = GroupRow(row.name, row.selector, (screen.screen_id,) if row.name in listed else ())
        if group.holds(screen):
            names.append(row.name)
    return tuple(names)
