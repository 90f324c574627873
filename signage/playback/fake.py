"""A deterministic ``Player`` for loop tests: no window, no decoder, time from an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signage.domain import STANDBY_ID, Ad, PlayOutcome
from signage.playback.base import PlayResult


@dataclass(frozen=True)
class _Item:
    ad_id: str
    started: float
    duration_s: float


class FakePlayer:
    """Plays each ad for exactly ``ad.duration_s`` of ``clock``; a missing media file is SKIPPED.

    ``shown`` lists what was put on screen, in order (ad ids, 'standby' and the ids of messages and
    black screens), so tests can check the sequence; ``screenshots`` lists the paths asked for
    (nothing is written).
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._current: _Item | None = None
        self._pending: PlayResult | None = None
        self.prepared: list[str] = []
        self.shown: list[str] = []
        self.screenshots: list[Path] = []
        self.messages: list[tuple[str, str, Path | None]] = []  # (item id, text, image) of show_message
        self.closed = False
        self.quit_requested = False

    def prepare(self, ad: Ad) -> None:
        self.prepared.append(ad.ad_id)

    def start(self, ad: Ad) -> None:
        self._current = None
        if not ad.media.is_file():
            # Like the real player: the previous picture stays, the loop hears about it on the next pump.
            self._pending = PlayResult(
                ad.ad_id, PlayOutcome.SKIPPED, 0.0, f"media file {ad.media} does not exist."
            )
            return
        self._pending = None
        self._current = _Item(ad.ad_id, self._clock(), ad.duration_s)
        self.shown.append(ad.ad_id)

    def show_standby(self, seconds: float) -> None:
        self._pending = None
        self._current = _Item(STANDBY_ID, self._clock(), seconds)
        self.shown.append(STANDBY_ID)

    def show_message(self, item_id: str, text: str, image: Path | None, seconds: float) -> None:
        self._pending = None
        self._current = _Item(item_id, self._clock(), seconds)
        self.shown.append(item_id)
        self.messages.append((item_id, text, image))

    def show_black(self, item_id: str, seconds: float) -> None:
        self._pending = None
        self._current = _Item(item_id, self._clock(), seconds)
        self.shown.append(item_id)

    def pump(self) -> PlayResult | None:
        if self._pending is not None:
            result, self._pending = self._pending, None
            return result
        item = self._current
        if item is None or self._clock() - item.started < item.duration_s:
            return None
        self._current = None
        return PlayResult(item.ad_id, PlayOutcome.COMPLETED, item.duration_s)

    def remaining_s(self) -> float | None:
        item = self._current
        if item is None:
            return None
        return max(0.0, item.duration_s - (self._clock() - item.started))

    def stop_current(self, reason: str) -> PlayResult | None:
        item, self._current = self._current, None
        if item is None:
            return None
        played = min(item.duration_s, self._clock() - item.started)
        return PlayResult(item.ad_id, PlayOutcome.INTERRUPTED, played, reason)

    def screenshot(self, path: Path) -> None:
        self.screenshots.append(path)

    def close(self) -> None:
        self.stop_current("player closed.")
        self.closed = True
