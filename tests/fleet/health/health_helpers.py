"""Facts about screens for the health tests: a registered screen, a heartbeat at a given time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from signage.clock import FAKE_START_UTC
from signage.fleet.central.health import HealthLimits, ScreenFacts
from signage.fleet.uplink_protocol import ScreenStatus

T0 = FAKE_START_UTC
LIMITS = HealthLimits(silent_after=timedelta(minutes=5), standby_only_after=timedelta(minutes=30))


def status(
    sent: datetime,
    *,
    release_id: str | None = "north#1",
    camera_online: bool = True,
    camera_covered: bool = False,
    playing: str | None = "ad-a",
    plays: int = 12,
    power: str = "on",
) -> ScreenStatus:
    return ScreenStatus(
        sent_utc=sent,
        release_id=release_id,
        camera_online=camera_online,
        disk_free_bytes=5_000_000_000,
        playing_ad_id=playing,
        plays_last_hour=plays,
        power="off" if power == "off" else "on",
        camera_covered=camera_covered,
    )


def facts(screen_id: str = "s1", **kw: Any) -> ScreenFacts:
    base = ScreenFacts(
        screen_id=screen_id,
        store_id="paris-1",
        groups=("north",),
        registered_utc=T0 - timedelta(days=3),
        expected_release_id="north#1",
    )
    return replace(base, **kw)


def heard(at: datetime, screen_id: str = "s1", **kw: Any) -> ScreenFacts:
    """A screen whose last heartbeat (sent and received at ``at``) says ``kw``."""
    extra = {k: kw.pop(k) for k in list(kw) if k in ScreenFacts.__dataclass_fields__}
    return facts(screen_id, status=status(at, **kw), received_utc=at, **extra)
