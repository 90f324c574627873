"""What a screen may see: its state (release, alerts, hours) and which blobs it may fetch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signage.fleet.central import tables as t
from signage.fleet.central.alerts import active_alerts
from signage.fleet.central.auth import ScreenPrincipal
from signage.fleet.central.registry import get_store
from signage.fleet.central.releases import newest_release
from signage.fleet.protocol import ScreenState


def screen_state(conn: Connection, screen: ScreenPrincipal, now: datetime) -> ScreenState:
    store = get_store(conn, screen.store_id)
    return ScreenState(
        screen_id=screen.screen_id,
        release=newest_release(conn, screen.groups),
        alerts=active_alerts(conn, screen.groups, now),
        hours=store.hours if store is not None else None,
    )


def state_etag(doc: dict[str, object]) -> str:
    """A strong ETag of the state's JSON: it changes exactly when the state does."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def blob_allowed(conn: Connection, groups: Sequence[str], sha256: str) -> bool:
    """Whether ``sha256`` is a file of a release or an alert of one of ``groups``."""
    if not groups:
        return False
    in_release = sa.select(t.release_file.c.sha256).where(
        t.release_file.c.sha256 == sha256, t.release_file.c.group_name.in_(groups)
    )
    in_alert = sa.select(t.alert.c.media_sha256).where(
        t.alert.c.media_sha256 == sha256, t.alert.c.group_name.in_(groups)
    )
    return conn.execute(in_release.union_all(in_alert).limit(1)).first() is not None
