"""The fleet protocol's vocabulary, shared by the central server and every screen (docs/fleet.md).

These frozen dataclasses are what travels: the server builds them from its tables, the screen agent
parses them from JSON, and both sides convert with the ``to_json``/``from_json`` pairs here, so the
wire format is spelled once. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

API_PREFIX = "/fleet/v1"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Screen, store and group names appear in MQTT topics and URLs: no '/', '+', '#' or spaces.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A release's files live under these relative paths; nothing else is accepted in a manifest.
CATALOG_PATH = "catalog.yaml"
RULES_DIR = "rules"
MEDIA_DIR = "media"

CommandKind = Literal["release", "collect", "screenshot", "alert"]
COMMAND_KINDS: tuple[CommandKind, ...] = ("release", "collect", "screenshot", "alert")


class ProtocolError(ValueError):
    """A message that does not follow the fleet protocol (a bad field, path or hash)."""


def check_name(value: object, what: str = "name") -> str:
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ProtocolError(
            f"not a valid {what}: {value!r} (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)"
        )
    return value


def check_sha256(value: object) -> str:
    if not isinstance(value, str) or not SHA256_RE.match(value):
        raise ProtocolError(f"not a lowercase hex sha256: {value!r}")
    return value


def check_release_path(value: object) -> str:
    """A manifest path: relative, forward slashes, no '..', no empty or hidden parts."""
    if not isinstance(value, str) or not value or len(value) > 300:
        raise ProtocolError(f"not a release path: {value!r}")
    parts = value.split("/")
    if value.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ProtocolError(f"release paths are relative, without '..' or hidden parts: {value!r}")
    if "\\" in value or any(ord(c) < 32 for c in value):
        raise ProtocolError(f"release paths use '/' and printable characters: {value!r}")
    if value != CATALOG_PATH and parts[0] not in (RULES_DIR, MEDIA_DIR):
        raise ProtocolError(f"a release holds {CATALOG_PATH}, {RULES_DIR}/ and {MEDIA_DIR}/ only: {value!r}")
    return value


def _field(doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in doc or not isinstance(doc[key], kind) or (isinstance(doc[key], bool) and kind is int):
        raise ProtocolError(f"field {key!r} is missing or not {getattr(kind, '__name__', kind)}")
    return doc[key]


def _dt(value: object, key: str) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"field {key!r} is not an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ProtocolError(f"field {key!r} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ProtocolError(f"field {key!r} has no time zone: {value!r}")
    return parsed


@dataclass(frozen=True)
class ReleaseFile:
    path: str  # e.g. "catalog.yaml", "rules/store.yaml", "media/spring.mp4"
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ReleaseFile:
        size = _field(doc, "size", int)
        if size < 0:
            raise ProtocolError(f"negative file size for {doc.get('path')!r}")
        return cls(check_release_path(doc.get("path")), check_sha256(doc.get("sha256")), size)


@dataclass(frozen=True)
class Release:
    """An immutable, numbered release of one group: every file with its hash and size."""

    group: str
    number: int
    created_utc: datetime
    files: tuple[ReleaseFile, ...]

    @property
    def release_id(self) -> str:
        """How a release is named everywhere (heartbeats, play rows, logs): ``<group>#<number>``."""
        return f"{self.group}#{self.number}"

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "group": self.group,
            "number": self.number,
            "created_utc": self.created_utc.isoformat(),
            "files": [f.to_json() for f in self.files],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Release:
        files = tuple(ReleaseFile.from_json(f) for f in _field(doc, "files", list))
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise ProtocolError("a release lists one path twice")
        if CATALOG_PATH not in paths:
            raise ProtocolError(f"a release without {CATALOG_PATH}")
        release = cls(
            _field(doc, "group", str),
            _field(doc, "number", int),
            _dt(doc.get("created_utc"), "created_utc"),
            files,
        )
        if doc.get("release_id", release.release_id) != release.release_id:
            raise ProtocolError("release_id does not match group and number")
        return release


@dataclass(frozen=True)
class Alert:
    """An emergency message that preempts every ad of a group until cleared or expired."""

    alert_id: str
    group: str
    message: str
    created_utc: datetime
    until_utc: datetime | None = None  # None: until cleared
    media: ReleaseFile | None = None  # an image or video shown with the message
    cleared: bool = False

    def active(self, now_utc: datetime) -> bool:
        return not self.cleared and (self.until_utc is None or now_utc < self.until_utc)

    def to_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "group": self.group,
            "message": self.message,
            "created_utc": self.created_utc.isoformat(),
            "until_utc": self.until_utc.isoformat() if self.until_utc else None,
            "media": self.media.to_json() if self.media else None,
            "cleared": self.cleared,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Alert:
        media = doc.get("media")
        if media is not None and not isinstance(media, dict):
            raise ProtocolError("field 'media' is not an object")
        media_file = None
        if media is not None:
            path = media.get("path")
            if not isinstance(path, str) or not path.startswith(f"{MEDIA_DIR}/"):
                raise ProtocolError(f"alert media lives under {MEDIA_DIR}/: {path!r}")
            media_file = ReleaseFile.from_json(media)
        until = doc.get("until_utc")
        return cls(
            alert_id=_field(doc, "alert_id", str),
            group=_field(doc, "group", str),
            message=_field(doc, "message", str),
            created_utc=_dt(doc.get("created_utc"), "created_utc"),
            until_utc=None if until is None else _dt(until, "until_utc"),
            media=media_file,
            cleared=bool(doc.get("cleared", False)),
        )


@dataclass(frozen=True)
class OpeningSpan:
    """Open from ``opens`` to ``closes`` local time; ``closes`` <= ``opens`` runs past midnight."""

    opens: time
    closes: time


@dataclass(frozen=True)
class StoreHours:
    """A store's weekly opening hours (Monday = 0) and dated exceptions (a holiday: no spans)."""

    timezone: str
    weekly: tuple[tuple[OpeningSpan, ...], ...]  # seven entries, Monday first
    exceptions: tuple[tuple[date, tuple[OpeningSpan, ...]], ...] = ()

    def to_json(self) -> dict[str, Any]:
        def spans(items: tuple[OpeningSpan, ...]) -> list[list[str]]:
            return [[s.opens.strftime("%H:%M"), s.closes.strftime("%H:%M")] for s in items]

        return {
            "timezone": self.timezone,
            "weekly": [spans(day) for day in self.weekly],
            "exceptions": [{"date": d.isoformat(), "spans": spans(s)} for d, s in self.exceptions],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> StoreHours:
        def spans(items: object) -> tuple[OpeningSpan, ...]:
            if not isinstance(items, list):
                raise ProtocolError("opening spans are a list of [opens, closes]")
            out = []
            for item in items:
                if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
                    raise ProtocolError(f"an opening span is [HH:MM, HH:MM], got {item!r}")
                try:
                    out.append(OpeningSpan(time.fromisoformat(item[0]), time.fromisoformat(item[1])))
                except ValueError as exc:
                    raise ProtocolError(f"not a time of day in {item!r}") from exc
            return tuple(out)

        weekly = _field(doc, "weekly", list)
        if len(weekly) != 7:
            raise ProtocolError("weekly hours need seven days, Monday first")
        exceptions = []
        for item in doc.get("exceptions", []) or []:
            if not isinstance(item, dict):
                raise ProtocolError("an exception is {date, spans}")
            try:
                day = date.fromisoformat(str(item.get("date")))
            except ValueError as exc:
                raise ProtocolError(f"not a date: {item.get('date')!r}") from exc
            exceptions.append((day, spans(item.get("spans", []))))
        return cls(_field(doc, "timezone", str), tuple(spans(d) for d in weekly), tuple(exceptions))


@dataclass(frozen=True)
class ScreenState:
    """What the server tells a screen on each poll: its release, its active alerts, its store's hours."""

    screen_id: str
    release: Release | None
    alerts: tuple[Alert, ...] = ()
    hours: StoreHours | None = None  # None: always open

    def to_json(self) -> dict[str, Any]:
        return {
            "screen_id": self.screen_id,
            "release": self.release.to_json() if self.release else None,
            "alerts": [a.to_json() for a in self.alerts],
            "hours": self.hours.to_json() if self.hours else None,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ScreenState:
        if not isinstance(doc, dict):
            raise ProtocolError("a screen state is a JSON object")
        release = doc.get("release")
        hours = doc.get("hours")
        return cls(
            screen_id=_field(doc, "screen_id", str),
            release=None if release is None else Release.from_json(release),
            alerts=tuple(Alert.from_json(a) for a in doc.get("alerts", []) or []),
            hours=None if hours is None else StoreHours.from_json(hours),
        )


@dataclass(frozen=True)
class Command:
    """A push over MQTT: a hint to act now. Polling delivers the same state without it."""

    kind: CommandKind
    release_id: str | None = None  # for "release": the release to fetch
    issued_utc: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "release_id": self.release_id,
            "issued_utc": self.issued_utc.isoformat() if self.issued_utc else None,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Command:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind not in COMMAND_KINDS:
            raise ProtocolError(f"unknown command {kind!r}; one of {', '.join(COMMAND_KINDS)}")
        issued = doc.get("issued_utc")
        release_id = doc.get("release_id")
        if release_id is not None and not isinstance(release_id, str):
            raise ProtocolError("field 'release_id' is not a string")
        return cls(kind, release_id, None if issued is None else _dt(issued, "issued_utc"))


def screen_topic(prefix: str, screen_id: str) -> str:
    return f"{prefix}/fleet/screen/{screen_id}/cmd"


def group_topic(prefix: str, group: str) -> str:
    return f"{prefix}/fleet/group/{group}/cmd"


def status_topic(prefix: str, screen_id: str) -> str:
    return f"{prefix}/fleet/screen/{screen_id}/status"


def health_topic(prefix: str) -> str:
    """Where the server publishes fleet health alerts for a monitoring system."""
    return f"{prefix}/fleet/health"
