"""The releases on the screen's disk, under ``<data_dir>/fleet/`` (docs/fleet.md, "Atomic swap").

```
blobs/<sha256>         every file once, by content (read-only); <sha256>.part while downloading
slots/a, slots/b       two assembled releases: catalog.yaml, rules/*.yaml, media/..., release.json
current -> slots/a     the release that plays; switched by renaming a new symlink over it
alerts.json, hours.json  the last alerts and store hours the server sent (signage.fleet.agent.statefiles)
```

A release is assembled in the slot ``current`` does not point at, from hard links to its blobs
(copies where the file system has no hard links), and ``release.json`` is written last: a slot
without it is incomplete and names no blob. Only a validated slot becomes current, and the switch
is one ``os.replace`` of a symlink, so ``current`` always names a complete release. Readers that
must not see a switch half-way through (the player's reloaders) hold ``steady()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from signage.fleet.agent.statefiles import StateFiles, write_atomic
from signage.fleet.protocol import (
    CATALOG_PATH,
    RULES_DIR,
    Alert,
    ProtocolError,
    Release,
    StoreHours,
    check_release_path,
    check_sha256,
)

log = logging.getLogger(__name__)

SLOTS = ("a", "b")
RELEASE_JSON = "release.json"
READ_BYTES = 1024 * 1024


class AssemblyError(Exception):
    """A release could not be laid out in a slot (a path clash, the disk); one sentence."""


def fleet_dir(data_dir: Path) -> Path:
    return data_dir / "fleet"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class ReleaseStore:
    """The screen's releases, blobs, alerts and hours on disk. Creating one touches nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.slots = root / "slots"
        self.current_dir = root / "current"  # a symlink; read the release through it
        self._state = StateFiles(root)
        self._switch = threading.RLock()
        self._unreadable: set[Path] = set()  # slots whose release.json was reported unreadable

    # -- what plays ------------------------------------------------------------------------------
    def current_slot(self) -> Path | None:
        """The real folder of the release in force, or None before the first one."""
        try:
            target = os.readlink(self.current_dir)
        except OSError:
            return None
        slot = (self.root / target).resolve()
        return slot if (slot / RELEASE_JSON).is_file() else None

    def current_release(self) -> Release | None:
        slot = self.current_slot()
        return None if slot is None else self._slot_release(slot)

    def current_release_id(self) -> str | None:
        """``<group>#<number>`` of the release in force (heartbeats, play rows); None before the first."""
        release = self.current_release()
        return None if release is None else release.release_id

    def current_rule_files(self) -> list[Path]:
        """The rule files of the release in force, through ``current`` (sorted, ``rules/*.yaml``)."""
        return sorted((self.current_dir / RULES_DIR).glob("*.yaml"))

    @property
    def current_catalog(self) -> Path:
        return self.current_dir / CATALOG_PATH

    @contextlib.contextmanager
    def steady(self) -> Iterator[None]:
        """Hold ``current`` still: no switch happens until the block ends."""
        with self._switch:
            yield

    # -- alerts and hours (the reader API other stages use) --------------------------------------
    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        """The alerts to show now, oldest first (persisted: they survive a restart)."""
        return self._state.active_alerts(now_utc)

    def hours(self) -> StoreHours | None:
        """The store's opening hours as last received; None: always open (or none received)."""
        return self._state.hours()

    def alert_media(self, alert: Alert) -> Path | None:
        """The alert's image or video once downloaded and verified, else None (show the message alone)."""
        if alert.media is None:
            return None
        path = self.blob_path(alert.media.sha256)
        return path if path.is_file() else None

    def save_alerts(self, alerts: Iterable[Alert]) -> bool:
        return self._state.save_alerts(tuple(alerts))

    def save_hours(self, hours: StoreHours | None) -> bool:
        return self._state.save_hours(hours)

    def saved_alerts(self) -> tuple[Alert, ...]:
        return self._state.alerts()

    # -- blobs -----------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        return self.blobs / check_sha256(sha256)

    def part_path(self, sha256: str) -> Path:
        self.blobs.mkdir(parents=True, exist_ok=True)
        return self.blobs / f"{check_sha256(sha256)}.part"

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def finish_blob(self, sha256: str) -> bool:
        """Verify the downloaded ``.part`` and file it under its hash; False (part deleted) on a mismatch."""
        part = self.part_path(sha256)
        if not part.is_file():
            return False
        if sha256_of(part) != sha256:
            part.unlink(missing_ok=True)
            return False
        part.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # a blob never changes; nor do its links
        os.replace(part, self.blob_path(sha256))
        return True

    def blob_bytes(self) -> int:
        return sum(size for _mtime, size, _path in self._blob_entries())

    def _blob_entries(self) -> list[tuple[float, int, Path]]:
        entries = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.blobs):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        entries.append((st.st_mtime, st.st_size, Path(entry.path)))
        return entries

    def collect_garbage(self, budget_bytes: int, keep: Iterable[str] = ()) -> int:
        """Delete blobs no slot uses (nor ``keep``), oldest first, while above the budget; bytes freed."""
        used = self.referenced() | set(keep)
        entries = sorted(self._blob_entries())
        total = sum(size for _mtime, size, _path in entries)
        freed = 0
        for _mtime, size, path in entries:
            if total <= budget_bytes:
                break
            if path.name.removesuffix(".part") in used:
                continue
            path.unlink(missing_ok=True)
            total -= size
            freed += size
        return freed

    def referenced(self) -> set[str]:
        """Every blob a complete slot names."""
        used: set[str] = set()
        for name in SLOTS:
            release = self._slot_release(self.slots / name)
            if release is not None:
                used.update(f.sha256 for f in release.files)
        return used

    # -- slots -----------------------------------------------------------------------------------
    def inactive_slot(self) -> Path:
        current = self.current_slot()
        for name in SLOTS:
            slot = self.slots / name
            if current is None or slot.resolve() != current:
                return slot
        raise AssertionError("two slots, one current")  # pragma: no cover

    def assemble(self, release: Release) -> Path:
        """Lay ``release`` out in the inactive slot from its blobs (all present); returns the slot."""
        slot = self.inactive_slot()
        try:
            self.discard(slot)
            slot.mkdir(parents=True)
            for item in release.files:
                check_release_path(item.path)
                blob = self.blob_path(item.sha256)
                dest = slot / item.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(blob, dest)
                except OSError:  # no hard links here (another file system, FAT): a copy
                    shutil.copyfile(blob, dest)
                os.utime(blob)  # in use again: the newest for the garbage collector
            write_atomic(slot / RELEASE_JSON, json.dumps(release.to_json(), indent=2).encode())
        except (ProtocolError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            self.discard(slot)  # the release's own fault (a path clash): it is refused
            raise AssemblyError(f"release {release.release_id} cannot be laid out: {exc}") from None
        except OSError:
            self.discard(slot)  # the disk's fault (full, read-only): tried again at the next poll
            raise
        return slot

    def discard(self, slot: Path) -> None:
        """Empty a slot that is not current (an unused or refused release)."""
        if self.current_slot() == slot.resolve():
            raise AssertionError(f"{slot} is the current release")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(slot)

    def switch_to(self, slot: Path) -> None:
        """Make ``slot`` (complete and validated) current, in one rename."""
        if self._slot_release(slot) is None:
            raise AssertionError(f"{slot} holds no complete release")
        temp = self.root / f".current-{os.getpid()}-{threading.get_ident()}"
        with self._switch:
            for leftover in self.root.glob(".current-*"):  # a switch cut short by a crash
                leftover.unlink(missing_ok=True)
            os.symlink(os.path.relpath(slot, self.root), temp)
            os.replace(temp, self.current_dir)
            _fsync_dir(self.root)

    def _slot_release(self, slot: Path) -> Release | None:
        try:
            release = Release.from_json(json.loads((slot / RELEASE_JSON).read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, AttributeError) as exc:  # ProtocolError is a ValueError
            if slot not in self._unreadable:
                self._unreadable.add(slot)
                log.warning(
                    "fleet slot %s has an unreadable %s (%s); it counts as empty", slot, RELEASE_JSON, exc
                )
            return None
        self._unreadable.discard(slot)
        return release


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
