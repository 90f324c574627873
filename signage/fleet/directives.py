"""What the fleet tells this screen to do besides its release: alerts to show and the store's hours.

The fleet agent writes them under ``<data_dir>/fleet/`` (``alerts.json``: a JSON list of
``Alert.to_json()``; ``hours.json``: one ``StoreHours.to_json()``) and alert media under
``blobs/<sha256>``. Because they are files, an alert survives a player restart. The slot loop asks at
every step, so the files are re-read only when they change (inode, modification time or size), and looked
at (``stat``) at most every ``recheck_s``. A missing file means none (no alert; always open); a file
that cannot be read or parsed is reported once, in one sentence naming it, and also counts as none.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from signage.fleet.protocol import Alert, ProtocolError, StoreHours

log = logging.getLogger(__name__)

FLEET_DIR = "fleet"
ALERTS_FILE = "alerts.json"
HOURS_FILE = "hours.json"
BLOBS_DIR = "blobs"
MAX_FILE_BYTES = 4 * 1024 * 1024  # a directive file is a few kB; anything this big is not one

T = TypeVar("T")


class FleetDirectives(Protocol):
    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        """The alerts to show at ``now_utc`` (not cleared, not expired), oldest first."""

    def hours(self) -> StoreHours | None:
        """The store's opening hours; None: always open."""

    def alert_media(self, alert: Alert) -> Path | None:
        """The local file of the alert's media, None without media or until it is downloaded."""


def _parse_alerts(doc: object) -> tuple[Alert, ...]:
    if not isinstance(doc, list):
        raise ProtocolError("the alerts file is a JSON list of alerts")
    alerts = []
    for item in doc:
        if not isinstance(item, dict):
            raise ProtocolError("each alert is a JSON object")
        alerts.append(Alert.from_json(item))
    return tuple(sorted(alerts, key=lambda a: (a.created_utc, a.alert_id)))


def _parse_hours(doc: object) -> StoreHours | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ProtocolError("the hours file is a JSON object")
    return StoreHours.from_json(doc)


@dataclass
class _Watched(Generic[T]):
    """One directive file, parsed again only when it changes on disk."""

    path: Path
    parse: Callable[[object], T]
    empty: T
    value: T
    stamp: tuple[int, int, int] | None = None
    reported: str | None = None

    def refresh(self) -> T:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self.stamp is not None:
                log.info("%s is gone: treated as empty", self.path)
            self.stamp, self.value, self.reported = None, self.empty, None
            return self.value
        except OSError as exc:
            return self._failed(f"cannot look at {self.path} ({exc.strerror or exc})", None)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # an atomic replace is a new inode
        if stamp == self.stamp:
            return self.value
        if stat.st_size > MAX_FILE_BYTES:
            return self._failed(f"{self.path} is {stat.st_size} bytes, too big to be a fleet file", stamp)
        try:
            text = self.path.read_text(encoding="utf-8")
            value = self.parse(json.loads(text))
        except json.JSONDecodeError as exc:
            return self._failed(f"{self.path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})", stamp)
        except (OSError, UnicodeDecodeError, ProtocolError, ValueError, TypeError) as exc:
            return self._failed(f"{self.path} cannot be used: {exc}", stamp)
        self.stamp, self.value = stamp, value
        if self.reported is not None:
            log.info("%s is readable again", self.path)
            self.reported = None
        return value

    def _failed(self, message: str, stamp: tuple[int, int, int] | None) -> T:
        if message != self.reported:
            log.warning("%s; it is treated as empty", message)
            self.reported = message
        self.stamp, self.value = stamp, self.empty
        return self.value


class FileDirectives:
    """``FleetDirectives`` from the fleet agent's files under ``directory`` (``<data_dir>/fleet``)."""

    def __init__(self, directory: Path, monotonic: Callable[[], float], recheck_s: float = 0.5) -> None:
        self.directory = directory
        self._monotonic = monotonic
        self._recheck_s = recheck_s
        self._checked_mono: float | None = None
        none: tuple[Alert, ...] = ()
        self._alerts = _Watched(directory / ALERTS_FILE, _parse_alerts, none, none)
        self._hours: _Watched[StoreHours | None] = _Watched(directory / HOURS_FILE, _parse_hours, None, None)
        self._media: dict[str, Path | None] = {}  # sha256 -> blob, looked up again at each recheck

    @classmethod
    def under(cls, data_dir: Path, monotonic: Callable[[], float]) -> FileDirectives:
        return cls(data_dir / FLEET_DIR, monotonic)

    def _refresh(self) -> None:
        now = self._monotonic()
        if self._checked_mono is not None and now - self._checked_mono < self._recheck_s:
            return
        self._checked_mono = now
        self._media.clear()
        self._alerts.refresh()
        self._hours.refresh()

    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        self._refresh()
        return tuple(a for a in self._alerts.value if a.active(now_utc))

    def hours(self) -> StoreHours | None:
        self._refresh()
        return self._hours.value

    def alert_media(self, alert: Alert) -> Path | None:
        if alert.media is None:
            return None
        self._refresh()
        sha = alert.media.sha256
        if sha not in self._media:
            path = self.directory / BLOBS_DIR / sha
            self._media[sha] = path if path.is_file() else None
        return self._media[sha]


class FakeDirectives:
    """``FleetDirectives`` held in memory, for tests: set ``alerts``, ``store_hours`` and ``media``."""

    def __init__(
        self,
        alerts: tuple[Alert, ...] = (),
        store_hours: StoreHours | None = None,
        media: dict[str, Path] | None = None,
    ) -> None:
        self.alerts = alerts
        self.store_hours = store_hours
        self.media = dict(media or {})  # alert id -> local file

    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.active(now_utc))

    def hours(self) -> StoreHours | None:
        return self.store_hours

    def alert_media(self, alert: Alert) -> Path | None:
        return self.media.get(alert.alert_id)
