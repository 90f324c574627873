"""Which fleet release this screen runs: the ``release_id`` stamped into every play and heartbeat.

The screen agent assembles each release in a slot and points ``<data_dir>/fleet/current`` at it; the
slot holds ``release.json`` (``protocol.Release.to_json()``, key ``release_id``). The player asks at
every play and heartbeat, so the file is read again only when it changed (its inode, size or
modification time: a swap of the ``current`` link is a different file). Reading never fails: no
file, an unreadable one or one without a valid id is ``None`` ("no fleet release"), said once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from signage.fleet.protocol import NAME_RE

log = logging.getLogger(__name__)

RELEASE_FILE = Path("fleet") / "current" / "release.json"  # under the data folder
RELEASE_ID_MAX = 80  # play.release_id, heartbeat.release_id: VARCHAR(80)

ReleaseIdSource = Callable[[], str | None]


def release_file(data_dir: Path) -> Path:
    return data_dir / RELEASE_FILE


def no_release() -> str | None:
    """The source of a screen outside any fleet."""
    return None


def _valid_release_id(value: object) -> str | None:
    # "<group>#<number>": a protocol name, '#', digits; never longer than the column.
    if not isinstance(value, str) or len(value) > RELEASE_ID_MAX or "#" not in value:
        return None
    group, _, number = value.rpartition("#")
    return value if NAME_RE.match(group) and number.isdigit() else None


class CurrentRelease:
    """``CurrentRelease(path)()`` is the running release's id, or None; cheap to call often."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._key: tuple[int, int, int, int] | None = None
        self._value: str | None = None
        self._said: str | None = None  # the last problem logged, so a steady one is logged once

    def __call__(self) -> str | None:
        try:
            st = os.stat(self.path)  # follows the ``current`` link
        except (OSError, ValueError):
            return self._settle(None, None, "")  # no release yet: not a problem worth a log line
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key == self._key:
                return self._value
        value, problem = self._read()
        return self._settle(key, value, problem)

    def _read(self) -> tuple[str | None, str]:
        try:
            doc = json.loads(self.path.read_bytes()[:1_000_000])
        except (OSError, ValueError) as exc:
            return None, f"cannot read {self.path} ({exc})"
        value = _valid_release_id(doc.get("release_id") if isinstance(doc, dict) else None)
        if value is None:
            return None, f"{self.path} has no valid key 'release_id' (<group>#<number>)"
        return value, ""

    def _settle(self, key: tuple[int, int, int, int] | None, value: str | None, problem: str) -> str | None:
        with self._lock:
            changed = value != self._value
            self._key, self._value = key, value
            if problem and problem != self._said:
                log.warning("%s; plays and heartbeats name no release until it is fixed", problem)
            elif changed and value is not None:
                log.info("running fleet release %s", value)
            self._said = problem or None
            return value


def current_release(data_dir: Path) -> CurrentRelease:
    return CurrentRelease(release_file(data_dir))
