"""The progress record: which play is on screen and the last moment the loop was seen showing it.

Crash repair needs to know how long a killed play really ran. A database heartbeat every second
would cost a write per second for ever; this is one fixed-size record in ``data_dir``, overwritten
in place (``pwrite``, no new file, no fsync) a couple of times a second by the loop thread, so a
``kill -9`` leaves it at most one sample behind the truth. It names no person and holds no image:
a play id and a time.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from signage.domain import AudienceSnapshot, Play

log = logging.getLogger(__name__)

_SIZE = 128  # bytes: a play id (36) + an ISO time (32) + a checksum, padded


@dataclass(frozen=True)
class Progress:
    play_id: str
    at: datetime  # UTC: the play was on screen at least until then


def _checksum(body: str) -> str:
    return f"{sum(body.encode()) % 65521:05d}"


class ProgressFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._failed = False

    def read(self) -> Progress | None:
        """The last record written (by this or an earlier process), or None if absent or damaged."""
        try:
            text = self.path.read_bytes()[:_SIZE].decode("ascii").strip()
            body, check = text.rsplit(" ", 1)
            play_id, at = body.split(" ")
            if check != _checksum(body):
                raise ValueError("checksum mismatch")
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError("naive time")
            return Progress(play_id, moment)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            log.warning("progress record %s not usable (%s); crash repair uses the heartbeat", self.path, exc)
            return None

    def write(self, progress: Progress) -> None:
        body = f"{progress.play_id} {progress.at.isoformat()}"
        line = f"{body} {_checksum(body)}".ljust(_SIZE - 1)[: _SIZE - 1] + "\n"
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.pwrite(self._fd, line.encode("ascii"), 0)
            if self._failed:
                self._failed = False
                log.info("progress record %s is written again", self.path)
        except OSError as exc:
            if not self._failed:
                self._failed = True
                log.warning("progress record %s cannot be written (%s)", self.path, exc.strerror)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class ProgressObserver:
    """A loop observer (``signage.loop.PlayObserver``) that keeps the progress record current."""

    def __init__(self, record: ProgressFile, now_utc: Callable[[], datetime]) -> None:
        self._record = record
        self._now_utc = now_utc
        self._play_id: str | None = None

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._play_id = play.play_id
        self._record.write(Progress(play.play_id, self._now_utc()))

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        if self._play_id is not None:
            self._record.write(Progress(self._play_id, self._now_utc()))

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        if play.play_id == self._play_id:
            self._record.write(Progress(play.play_id, self._now_utc()))
            self._play_id = None
