"""Commands for chosen screens: ``collect`` (ship rows now) and ``screenshot`` (docs/fleet.md, MQTT).

Unlike a release or an alert, these have no polling fallback: the command is the only way a screen
hears of them. Each goes to the screen's own topic (``protocol.screen_topic``), QoS 1 and never
retained: a retained "screenshot now" would fire at every reconnect. The screens' uplink keeps a
persistent session, so a command sent while a screen is off waits at the broker; a ``collect`` that
arrives late is harmless, and the uplink drops a ``screenshot`` older than
``signage.fleet.uplink.SCREENSHOT_STALE_S``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection

from signage.fleet.central.commands import CommandPublisher
from signage.fleet.central.registry import RegistryError, get_screen, list_groups
from signage.fleet.central.uplink_api import screenshot_path
from signage.fleet.protocol import Command, CommandKind, screen_topic

SCREEN_COMMANDS: tuple[CommandKind, ...] = ("collect", "screenshot")


def target_screens(conn: Connection, *, screen: str | None = None, group: str | None = None) -> list[str]:
    """The active screens a command goes to: one screen, or every member of a group."""
    if (screen is None) == (group is None):
        raise RegistryError("give either --screen ID or --group NAME")
    if screen is not None:
        row = get_screen(conn, screen)
        if row is None or not row.active:
            raise RegistryError(f"no screen {screen!r}; `signage fleet screens list` shows them")
        return [screen]
    found = next((g for g in list_groups(conn) if g.name == group), None)
    if found is None:
        raise RegistryError(f"no group {group!r}; `signage fleet groups list` shows them")
    if not found.members:
        raise RegistryError(f"group {group!r} holds no screen now")
    return list(found.members)


@dataclass(frozen=True)
class PushOutcome:
    sent: tuple[str, ...]  # the screens whose command the broker confirmed
    failed: str | None = None  # why the rest were not sent, in one sentence

    @property
    def ok(self) -> bool:
        return self.failed is None


def push_to_screens(
    publisher: CommandPublisher, prefix: str, screens: Sequence[str], kind: CommandKind, now: datetime
) -> PushOutcome:
    """Publish ``Command(kind)`` on each screen's topic, QoS 1, not retained; stops at the first failure
    (a broker that refused one refuses the next, and each try would wait out its timeout)."""
    if kind not in SCREEN_COMMANDS:
        raise ValueError(f"{kind!r} is not a screen command; one of {', '.join(SCREEN_COMMANDS)}")
    command = Command(kind, None, now)
    sent: list[str] = []
    for screen in screens:
        result = publisher.publish(screen_topic(prefix, screen), command, retain=False)
        if not result.ok:
            return PushOutcome(tuple(sent), result.reason)
        sent.append(screen)
    return PushOutcome(tuple(sent))


@dataclass(frozen=True)
class StoredScreenshot:
    path: Path
    taken_utc_ts: float  # when the server stored it (the file's mtime, seconds since the epoch)
    size: int


def stored_screenshot(blob_root: Path, screen_id: str) -> StoredScreenshot | None:
    """The last screenshot the screen uploaded (``POST /fleet/v1/screenshot``), or None."""
    path = screenshot_path(blob_root, screen_id)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return StoredScreenshot(path, info.st_mtime, info.st_size)


def copy_screenshot(shot: StoredScreenshot, out: Path) -> None:
    """Copy it to ``out`` (written beside it and renamed, so ``out`` is never half a PNG)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    try:
        shutil.copyfile(shot.path, tmp)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
