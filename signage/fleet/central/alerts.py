"""Emergency alerts: stored per group, shown by its screens until cleared or expired."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from signage.fleet.central import tables as t
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.registry import RegistryError, group_exists
from signage.fleet.central.releases import record_blobs
from signage.fleet.protocol import MEDIA_DIR, Alert, ReleaseFile
from signage.media import CatalogMediaError, probe_media

_RELATIVE = re.compile(r"^\+(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MESSAGE_MAX = 2000


def parse_until(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """``+30m``, ``+2h``, ``+1d`` from now, or an ISO time (without a zone: in ``tz``); in the future."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        until = now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            until = datetime.fromisoformat(text)
        except ValueError:
            raise RegistryError(
                f"--until {text!r} is neither +30m/+2h/+1d nor a time such as 2026-12-24T18:00"
            ) from None
        until = until.replace(tzinfo=tz) if until.tzinfo is None else until
    if until <= now:
        raise RegistryError(f"--until {text!r} is not in the future")
    return until


def _alert(row: sa.Row[Any]) -> Alert:
    media = None
    if row.media_sha256 is not None:
        media = ReleaseFile(row.media_path, row.media_sha256, row.media_size)
    return Alert(
        alert_id=row.alert_id,
        group=row.group_name,
        message=row.message,
        created_utc=row.created_utc,
        until_utc=row.until_utc,
        media=media,
        cleared=row.cleared_utc is not None,
    )


def create_alert(
    engine: Engine,
    blobs: BlobStore,
    group: str,
    message: str,
    now: datetime,
    *,
    media: Path | None = None,
    until: datetime | None = None,
) -> Alert:
    """Store an alert (its media probed, then put in the blob store) and return it."""
    message = message.strip()
    if not message:
        raise RegistryError("an alert needs a message")
    if len(message) > MESSAGE_MAX:
        raise RegistryError(f"the message is {len(message)} characters; at most {MESSAGE_MAX}")
    alert_id = secrets.token_hex(6)
    media_file = None
    if media is not None:
        try:
            probe_media(media)
        except CatalogMediaError as exc:
            raise RegistryError(f"--media: {exc}") from None
        stored = blobs.put_file(media)
        path = f"{MEDIA_DIR}/alert-{alert_id}{media.suffix.lower()}"
        media_file = ReleaseFile(path, stored.sha256, stored.size)
    with engine.begin() as conn:
        if not group_exists(conn, group):
            raise RegistryError(f"no group {group!r}; add it with `signage fleet groups add`")
        if media_file is not None:
            record_blobs(conn, [media_file], now)
        conn.execute(
            t.alert.insert().values(
                alert_id=alert_id,
                group_name=group,
                message=message,
                media_path=media_file.path if media_file else None,
                media_sha256=media_file.sha256 if media_file else None,
                media_size=media_file.size if media_file else None,
                created_utc=now,
                until_utc=until,
                cleared_utc=None,
            )
        )
    return Alert(alert_id, group, message, now, until, media_file)


def clear_alert(engine: Engine, alert_id: str, now: datetime) -> Alert:
    """Mark the alert cleared (screens drop it at their next look); returns it as it now is."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(t.alert).where(t.alert.c.alert_id == alert_id)).first()
        if row is None:
            raise RegistryError(f"no alert {alert_id!r}; `signage fleet alerts list` shows them")
        if row.cleared_utc is not None:
            raise RegistryError(f"alert {alert_id!r} was already cleared")
        conn.execute(t.alert.update().where(t.alert.c.alert_id == alert_id).values(cleared_utc=now))
        row = conn.execute(sa.select(t.alert).where(t.alert.c.alert_id == alert_id)).one()
    return _alert(row)


def list_alerts(conn: Connection, *, group: str | None = None) -> list[Alert]:
    query = sa.select(t.alert).order_by(t.alert.c.created_utc, t.alert.c.alert_id)
    if group is not None:
        query = query.where(t.alert.c.group_name == group)
    return [_alert(r) for r in conn.execute(query)]


def active_alerts(conn: Connection, groups: Sequence[str], now: datetime) -> tuple[Alert, ...]:
    """Alerts of ``groups`` neither cleared nor expired at ``now``, oldest first."""
    if not groups:
        return ()
    query = (
        sa.select(t.alert)
        .where(
            t.alert.c.group_name.in_(groups),
            t.alert.c.cleared_utc.is_(None),
            sa.or_(t.alert.c.until_utc.is_(None), t.alert.c.until_utc > now),
        )
        .order_by(t.alert.c.created_utc, t.alert.c.alert_id)
    )
    return tuple(_alert(r) for r in conn.execute(query))
