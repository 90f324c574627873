"""The storage edge the loop writes to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from signage.domain import Play, PlayRecord


class PlaySink(Protocol):
    def play_started(self, play: Play) -> None:
        """Record a play as open (ended_at None); a crash leaves it for start-up repair."""

    def play_ended(self, play: Play) -> None:
        """Close the play (same play_id) with its end time, actual seconds and outcome."""

    def recent_plays(self, since: datetime) -> Sequence[PlayRecord]:
        """Plays started at or after ``since`` (for frequency caps after a restart)."""

    def flush(self, timeout_s: float | None = None) -> bool:
        """Block until everything queued so far is committed; False if ``timeout_s`` ran out first."""

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush and stop the writer; what is still unwritten after ``timeout_s`` is journaled."""


@dataclass(frozen=True)
class Heartbeat:
    """A screen's latest sign of life, overwritten on each write (one row per screen)."""

    screen_id: str
    store_id: str
    last_seen: datetime  # UTC
    playing_ad_id: str | None = None
    camera_online: bool = False
    rules_valid: bool = True
    rules_error: str = ""
    catalog_valid: bool = True
    catalog_error: str = ""
    app_version: str = ""
    started_at: datetime | None = None  # when this player process started (UTC)
    release_id: str | None = None  # the fleet release running (``<group>#<number>``), if any


class HeartbeatSink(Protocol):
    def write_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Queue the screen's status; only the latest one per screen is kept."""
