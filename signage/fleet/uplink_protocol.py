"""The uplink's part of the fleet protocol: what a screen posts (heartbeat, rows, screenshot).

Split from ``signage.fleet.protocol`` (which holds what the server sends) to keep each module small;
the same rules apply: frozen dataclasses with their JSON form, spelled once, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from signage.fleet.protocol import API_PREFIX, ProtocolError, _dt, check_name

# -- the uplink: what a screen posts (heartbeat, rows, screenshot) --------------------------------
PowerState = Literal["on", "off"]
POWER_STATES: tuple[PowerState, ...] = ("on", "off")
ROWS_MAX_BYTES = 8 * 1024 * 1024  # the largest POST /rows/<table> body the server reads (else 413)
SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024  # the largest POST /screenshot body (else 413)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"  # a screenshot is a PNG of the ad on screen, never a camera frame


def rows_path(table: str) -> str:
    """Where a screen posts its rows of ``table``: ``{"rows": [...]}``, answered ``{"accepted": n}``."""
    return f"{API_PREFIX}/rows/{table}"


@dataclass(frozen=True)
class ScreenStatus:
    """A screen's heartbeat: ``POST /fleet/v1/heartbeat``, and retained on its status topic."""

    sent_utc: datetime
    release_id: str | None  # "<group>#<number>" on screen; None: none yet (the local files play)
    camera_online: bool
    disk_free_bytes: int | None  # on the data folder's disk; None: unknown
    playing_ad_id: str | None
    plays_last_hour: int
    power: PowerState = "on"  # "off" outside opening hours
    screen_id: str | None = None  # set by the server from the token before it publishes
    # The camera delivers pictures, but they show nothing (a covered or blinded lens); sent only
    # when true, so a heartbeat without it reads as before. Read by signage.fleet.central.health.
    camera_covered: bool = False

    def to_json(self) -> dict[str, Any]:
        doc = self._json_fields()
        if self.camera_covered:
            doc["camera_covered"] = True
        return doc

    def _json_fields(self) -> dict[str, Any]:
        return {
            "sent_utc": self.sent_utc.isoformat(),
            "release_id": self.release_id,
            "camera_online": self.camera_online,
            "disk_free_bytes": self.disk_free_bytes,
            "playing_ad_id": self.playing_ad_id,
            "plays_last_hour": self.plays_last_hour,
            "power": self.power,
            "screen_id": self.screen_id,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ScreenStatus:
        if not isinstance(doc, dict):
            raise ProtocolError("a screen status is a JSON object")
        unknown = sorted(set(doc) - set(_STATUS_KEYS))
        if unknown:
            raise ProtocolError(f"unknown field {unknown[0]!r} in a screen status")

        power = doc.get("power", "on")
        if power not in POWER_STATES:
            raise ProtocolError(f"field 'power' is 'on' or 'off', got {power!r}")
        camera = doc.get("camera_online")
        if not isinstance(camera, bool):
            raise ProtocolError("field 'camera_online' is missing or not true/false")
        plays = _optional_int(doc, "plays_last_hour", 1_000_000)
        screen_id = doc.get("screen_id")
        covered = doc.get("camera_covered", False)
        if not isinstance(covered, bool):
            raise ProtocolError("field 'camera_covered' is not true/false")
        return cls(
            sent_utc=_dt(doc.get("sent_utc"), "sent_utc"),
            release_id=_optional_str(doc, "release_id", 80),
            camera_online=camera,
            disk_free_bytes=_optional_int(doc, "disk_free_bytes", 2**62),
            playing_ad_id=_optional_str(doc, "playing_ad_id", 128),
            plays_last_hour=0 if plays is None else plays,
            power=power,
            screen_id=None if screen_id is None else check_name(screen_id, "screen id"),
            camera_covered=covered,
        )


def _optional_str(doc: dict[str, Any], key: str, limit: int) -> str | None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise ProtocolError(f"field {key!r} is not a string of at most {limit} characters")
    return value


def _optional_int(doc: dict[str, Any], key: str, limit: int) -> int | None:
    value = doc.get(key)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit
    ):
        raise ProtocolError(f"field {key!r} is not a whole number from 0 to {limit}")
    return value


_STATUS_KEYS = (
    "sent_utc",
    "release_id",
    "camera_online",
    "disk_free_bytes",
    "playing_ad_id",
    "plays_last_hour",
    "power",
    "screen_id",
    "camera_covered",
)
