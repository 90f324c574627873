"""The alerts and store hours the server last sent, kept on disk so they survive a restart.

``alerts.json`` is a JSON list of ``Alert.to_json()`` and ``hours.json`` one ``StoreHours.to_json()``
(``null``: always open), the protocol's own JSON, as ``signage.fleet.directives`` reads them too.
Both are written atomically (a temporary file, fsync, rename) and only when they change. Readers re-parse a file only when its
stamp changes, so asking every half second costs one ``stat``; a file that cannot be read counts
as no alerts and always open, reported once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from signage.fleet.protocol import Alert, ProtocolError, StoreHours

log = logging.getLogger(__name__)

ALERTS_JSON = "alerts.json"
HOURS_JSON = "hours.json"
Stamp = tuple[int, int, int]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with temp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _encode(doc: object) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


class StateFiles:
    """``alerts.json`` and ``hours.json`` in one folder: written by the agent, read by any stage."""

    def __init__(self, root: Path) -> None:
        self.alerts_path = root / ALERTS_JSON
        self.hours_path = root / HOURS_JSON
        self._lock = threading.Lock()
        self._alerts: tuple[Stamp | None, tuple[Alert, ...]] = (None, ())
        self._hours: tuple[Stamp | None, StoreHours | None] = (None, None)
        self._reported: dict[Path, str] = {}

    def save_alerts(self, alerts: tuple[Alert, ...]) -> bool:
        """Persist the server's alerts; False when the file already says the same."""
        return self._save(self.alerts_path, _encode([a.to_json() for a in alerts]))

    def save_hours(self, hours: StoreHours | None) -> bool:
        return self._save(self.hours_path, _encode(None if hours is None else hours.to_json()))

    def _save(self, path: Path, data: bytes) -> bool:
        try:
            if path.read_bytes() == data:
                return False
        except OSError:
            pass
        write_atomic(path, data)
        return True

    def alerts(self) -> tuple[Alert, ...]:
        """Every alert last received (active or not), oldest first."""
        with self._lock:
            stamp = _stamp(self.alerts_path)
            if stamp is None or stamp != self._alerts[0]:
                self._alerts = (stamp, self._read_alerts() if stamp is not None else ())
            return self._alerts[1]

    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts() if a.active(now_utc))

    def hours(self) -> StoreHours | None:
        with self._lock:
            stamp = _stamp(self.hours_path)
            if stamp is None or stamp != self._hours[0]:
                self._hours = (stamp, self._read_hours() if stamp is not None else None)
            return self._hours[1]

    def _read_alerts(self) -> tuple[Alert, ...]:
        doc = self._read(self.alerts_path)
        try:
            if not isinstance(doc, list):
                raise ProtocolError("the alerts file is not a JSON list of alerts")
            alerts = [Alert.from_json(item) for item in doc]
        except (ProtocolError, AttributeError, TypeError) as exc:
            self._report(self.alerts_path, f"{exc}; no alert is shown until the server sends them again")
            return ()
        return tuple(sorted(alerts, key=lambda a: (a.created_utc, a.alert_id)))

    def _read_hours(self) -> StoreHours | None:
        doc = self._read(self.hours_path)
        try:
            if doc is not None and not isinstance(doc, dict):
                raise ProtocolError("the hours file is not a JSON object")
            return None if doc is None else StoreHours.from_json(doc)
        except (ProtocolError, AttributeError, TypeError) as exc:
            self._report(self.hours_path, f"{exc}; the screen stays on until the server sends them again")
            return None

    def _read(self, path: Path) -> Any:
        """The file's JSON; None when it is missing or unreadable (reported)."""
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            self._report(path, f"cannot be read ({exc})")
            return None
        self._reported.pop(path, None)
        return doc

    def _report(self, path: Path, problem: str) -> None:
        if self._reported.get(path) != problem:
            self._reported[path] = problem
            log.error("fleet state %s: %s", path, problem)


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
