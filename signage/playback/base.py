"""The display edge. The main thread owns the window and drives the player by calling ``pump``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signage.domain import Ad, PlayOutcome


@dataclass(frozen=True)
class PlayResult:
    ad_id: str
    outcome: PlayOutcome
    actual_s: float  # seconds the ad was really on screen
    reason: str = ""  # why it was skipped or interrupted, one sentence


class Player(Protocol):
    """A state machine the loop drives from the main thread.

    ``start`` swaps to a new ad; until its first frame is ready the previous picture stays on
    screen (never black). ``pump`` must be called often (every few ms): it handles window events,
    draws, and returns the PlayResult of the current ad once, when it has ended. A skipped ad's
    reason travels in its PlayResult and is not logged by the player: the loop reports it once.
    """

    quit_requested: bool  # the window was closed or Escape pressed: the loop stops

    def prepare(self, ad: Ad) -> None:
        """Load/parse ``ad`` ahead of time so that ``start`` is instant. Safe to call twice."""

    def start(self, ad: Ad) -> None: ...

    def show_standby(self, seconds: float) -> None:
        """Show the standby slide for ``seconds``; ``pump`` then reports a result with ad_id 'standby'."""

    def show_message(self, item_id: str, text: str, image: Path | None, seconds: float) -> None:
        """Show ``text`` full screen, large and high-contrast (an emergency alert), with ``image``
        above it when it loads (else the text alone); ``pump`` reports ``item_id`` after ``seconds``."""

    def show_black(self, item_id: str, seconds: float) -> None:
        """Show black (the store is closed) and let the display sleep; ``pump`` reports ``item_id``
        after ``seconds``."""

    def pump(self) -> PlayResult | None: ...

    def remaining_s(self) -> float | None:
        """Seconds left of the current item, None when nothing plays."""

    def stop_current(self, reason: str) -> PlayResult | None:
        """End the current item now (shutdown); returns its INTERRUPTED result."""

    def screenshot(self, path: Path) -> None:
        """Save what is on screen now (the ad as shown to viewers; never a camera frame)."""

    def close(self) -> None: ...
