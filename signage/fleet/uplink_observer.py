"""What the uplink learns from the slot loop: the ad on screen, plays in the last hour, screenshots.

Both observers are called by the loop on the main thread, which owns the display; the uplink thread
only reads their state (under a lock) and asks for screenshots.

``ScreenshotTaker`` takes a screenshot only when asked (an MQTT "screenshot" command), at the next
audience sample once the item on screen has shown for ``settle_s`` (never a half-drawn switch), and
saves it as ``<data_dir>/fleet/screenshot.png`` by writing a temporary PNG and renaming it. It is the
player's own picture of what viewers see (``Player.screenshot``): the ad, alert or standby slide,
never a camera frame.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from signage.domain import STANDBY_ID, AudienceSnapshot, Play

log = logging.getLogger(__name__)

HOUR_S = 3600.0
SCREENSHOT_FILE = Path("fleet") / "screenshot.png"  # under the data folder


class Screenshots(Protocol):
    def screenshot(self, path: Path) -> None: ...


class PlayStatus:
    """The ad on screen and how many ads started within the last hour (standby slots not counted)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._playing: str | None = None
        self._starts: collections.deque[float] = collections.deque()

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        now = self._monotonic()
        with self._lock:
            self._playing = play.ad_id
            if play.ad_id != STANDBY_ID:
                self._starts.append(now)
                self._prune(now)

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        pass

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        with self._lock:
            if self._playing == play.ad_id:
                self._playing = None

    def _prune(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - HOUR_S:
            self._starts.popleft()

    def playing_ad_id(self) -> str | None:
        with self._lock:
            return self._playing

    def plays_last_hour(self) -> int:
        with self._lock:
            self._prune(self._monotonic())
            return len(self._starts)


class ScreenshotTaker:
    """Saves a screenshot of what is on screen when asked; ``on_saved`` is told where (any thread)."""

    def __init__(
        self,
        player: Screenshots,
        path: Path,
        monotonic: Callable[[], float],
        on_saved: Callable[[Path], None] = lambda _path: None,
        *,
        settle_s: float = 1.0,
    ) -> None:
        self.player = player
        self.path = path
        self._monotonic = monotonic
        self._on_saved = on_saved
        self.settle_s = settle_s
        self._lock = threading.Lock()
        self._wanted = False
        self._shown_since: float | None = None  # when the item on screen started
        self._failed: str | None = None  # the last error, logged once

    def request(self) -> None:
        """Take one at the next chance (called from the uplink's thread)."""
        with self._lock:
            self._wanted = True

    @property
    def pending(self) -> bool:
        with self._lock:
            return self._wanted

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._shown_since = self._monotonic()
        self._maybe_take()

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self._maybe_take()

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        self._shown_since = None

    def _maybe_take(self) -> None:
        since = self._shown_since
        if since is None or self._monotonic() - since < self.settle_s:
            return
        with self._lock:
            if not self._wanted:
                return
            self._wanted = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.part.png")  # the suffix picks the format
        try:
            self.player.screenshot(tmp)
            os.replace(tmp, self.path)
        except (OSError, RuntimeError, ValueError) as exc:  # pygame.error is a RuntimeError
            tmp.unlink(missing_ok=True)
            message = f"could not save the screenshot {self.path}: {exc}"
            if message != self._failed:
                log.warning("%s", message)
            self._failed = message
            return
        self._failed = None
        self._on_saved(self.path)
