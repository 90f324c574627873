"""The dashboard's fleet page (``/admin/fleet``) and screenshots, for administrators only.

It reads the central registry in the dashboard's own database (``signage fleet`` and the screens'
uplink write it there): every screen's health (``signage.fleet.central.health``), the emergency
alerts shown now, and the stores, groups and releases. A database without the registry gets a page
that says so. Like the other admin pages, an advertiser gets 404, never 403.

A screenshot is the PNG of the ad on screen that the uplink keeps under the server's blob store
(``uplink_api.screenshot_path``); the dashboard serves it to administrators only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from signage.fleet.central.alerts import active_alerts
from signage.fleet.central.health import HealthLimits, ScreenHealth, fleet_health
from signage.fleet.central.health_rows import fleet_facts, has_registry
from signage.fleet.central.hours import describe_hours
from signage.fleet.central.registry import GroupRow, StoreRow, list_groups, list_stores
from signage.fleet.central.releases import ReleaseRow, list_releases
from signage.fleet.central.uplink_api import screenshot_path
from signage.fleet.protocol import NAME_RE, Alert
from signage.web.auth import Auth

RECENT_RELEASES = 3  # per group, newest first


@dataclass(frozen=True)
class FleetPageConfig:
    """Where screenshots are (the central server's blob store; None: not shown) and the limits."""

    blob_root: Path | None = None
    limits: HealthLimits = field(
        default_factory=lambda: HealthLimits(timedelta(minutes=5), timedelta(minutes=30))
    )


@dataclass(frozen=True)
class StoreSummary:
    store: StoreRow
    hours: str
    screens: int
    online: int


@dataclass(frozen=True)
class GroupSummary:
    group: GroupRow
    releases: int
    recent: tuple[ReleaseRow, ...]  # newest first


@dataclass(frozen=True)
class FleetView:
    screens: tuple[ScreenHealth, ...]
    alerts: tuple[Alert, ...]
    stores: tuple[StoreSummary, ...]
    groups: tuple[GroupSummary, ...]

    @property
    def online(self) -> int:
        return sum(1 for s in self.screens if s.online)

    @property
    def behind(self) -> int:
        return sum(1 for s in self.screens if s.old_release)

    @property
    def unwell(self) -> int:
        return sum(1 for s in self.screens if s.conditions)


def fleet_view(conn: sa.Connection, now: datetime, config: FleetPageConfig) -> FleetView:
    screens = fleet_health(fleet_facts(conn, now, config.blob_root), now, config.limits)
    groups = list_groups(conn)
    stores = tuple(
        StoreSummary(
            store,
            describe_hours(store.hours),
            sum(1 for s in screens if s.store_id == store.store_id),
            sum(1 for s in screens if s.store_id == store.store_id and s.online),
        )
        for store in list_stores(conn)
    )
    summaries = []
    for group in groups:
        releases = list_releases(conn, group.name)
        summaries.append(GroupSummary(group, len(releases), tuple(reversed(releases[-RECENT_RELEASES:]))))
    alerts = active_alerts(conn, [g.name for g in groups], now)
    return FleetView(screens, alerts, stores, tuple(summaries))


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _bytes(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1e9:.1f} GB" if value >= 1e9 else f"{value / 1e6:.0f} MB"


def fleet_router(
    engine: sa.Engine,
    auth: Auth,
    page: Callable[..., HTMLResponse],
    now: Callable[[], datetime],
    config: FleetPageConfig,
) -> APIRouter:
    """``page(request, template, **context)`` renders a dashboard template (app.create_app's)."""
    router = APIRouter()

    def require_admin(request: Request) -> None:
        if not auth.require_user(request).is_admin:
            raise HTTPException(status_code=404, detail="not found")

    @router.get("/admin/fleet", response_class=HTMLResponse)
    def fleet_page(request: Request) -> HTMLResponse:
        require_admin(request)
        at = now()
        context: dict[str, Any] = {"now": at, "ago": _ago, "size": _bytes, "view": None}
        with engine.connect() as conn:
            if has_registry(conn):
                context["view"] = fleet_view(conn, at, config)
        context["screenshots"] = config.blob_root is not None
        return page(request, "fleet.html", **context)

    @router.get("/admin/fleet/screens/{screen_id}/screenshot.png")
    def screenshot(request: Request, screen_id: str) -> Response:
        require_admin(request)
        if config.blob_root is None or not NAME_RE.match(screen_id):
            raise HTTPException(status_code=404, detail="no screenshot")
        path = screenshot_path(config.blob_root, screen_id)
        if not path.is_file():
            raise HTTPException(status_code=404, detail="no screenshot")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, no-cache"})

    return router
