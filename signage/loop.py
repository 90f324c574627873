"""The slot loop: audience -> decide -> play -> record, on the main thread, which owns the display.

The next ad is decided ``lead_s`` before the current one ends and handed to the player to
prepare, so the switch is gapless; the audience it sees is at most ``lead_s`` old. Everything
the loop touches comes in through small interfaces, so tests drive it on fakes and a fake clock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from signage.clock import Clock
from signage.domain import ALERT_PREFIX, STANDBY_ID, AudienceSnapshot, Decision, Play, PlayOutcome, PlayRecord
from signage.fleet.override import TAKEOVER_SLOT_S, ScreenOverride, Takeover, end_reason
from signage.playback.base import Player, PlayResult
from signage.store.base import PlaySink
from signage.targeting.history import PlayHistory

log = logging.getLogger(__name__)

HISTORY_WINDOW = timedelta(hours=24)


# (audience, history, now_utc, ads to leave out) -> Decision
Decider = Callable[[AudienceSnapshot, Sequence[PlayRecord], datetime, frozenset[str]], Decision]


class PlayObserver(Protocol):
    """Something that follows plays with the audience (impressions, status, heartbeats)."""

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None: ...

    def audience_sample(self, audience: AudienceSnapshot) -> None: ...

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None: ...


@dataclass
class LoopConfig:
    screen_id: str
    lead_s: float = 1.0  # decide and prepare the next ad this long before the current ends
    standby_slot_s: float = 10.0
    sample_every_s: float = 0.5  # audience sampling for observers during a play
    tick_s: float = 0.004
    screenshots: Path | None = None


@dataclass
class _OnScreen:
    play: Play
    started_mono: float
    decision: Decision
    screenshot_due_mono: float | None


class SlotLoop:
    def __init__(
        self,
        config: LoopConfig,
        player: Player,
        sink: PlaySink,
        audience: Callable[[], AudienceSnapshot],
        decider: Decider,
        clock: Clock,
        observers: Sequence[PlayObserver] = (),
        catalog_version: Callable[[], int] = lambda: 0,
        release_id: Callable[[], str | None] = lambda: None,  # the fleet release on screen
        override: ScreenOverride | None = None,  # fleet alerts and opening hours (signage.fleet.override)
    ) -> None:
        self.config = config
        self.player = player
        self.sink = sink
        self.audience = audience
        self.decider = decider
        self.clock = clock
        self.observers = tuple(observers)
        self.catalog_version = catalog_version
        self.release_id = release_id
        self.override = override
        self._takeover: Takeover | None = None  # the alert or closed screen up instead of the programme
        self._catalog_version = catalog_version()
        # Kept indexed between decisions: re-indexing a day of plays at every decision costs ms.
        self.history = PlayHistory()
        self.unplayable: set[str] = set()  # ads the player failed on: out until restart/reload
        self._skips_reported: dict[str, set[str]] = {}  # ad id -> skip reasons logged since it last played
        self.plays_started = 0
        self._current: _OnScreen | None = None
        self._next: Decision | None = None
        self._last_sample_mono = 0.0

    # -- history ---------------------------------------------------------------------------
    def load_history(self) -> None:
        since = self.clock.now_utc() - HISTORY_WINDOW
        self.history = PlayHistory([*self.history, *self.sink.recent_plays(since)])

    def _remember(self, record: PlayRecord) -> None:
        latest = self.history.latest
        if latest is not None and record.started_at < latest:  # the wall clock stepped back
            self.history = PlayHistory([*self.history, record])
        else:
            self.history.append(record)
        self.history.prune(record.started_at - HISTORY_WINDOW)

    # -- decisions -------------------------------------------------------------------------
    def _decide(self) -> Decision:
        version = self.catalog_version()
        if version != self._catalog_version:
            # A new catalog may carry a fixed file for an ad that failed: give every ad a new chance.
            self._catalog_version = version
            self.unplayable.clear()
        audience = self.audience()
        current = self._current
        on_screen = None
        if current is not None and current.play.ad_id != STANDBY_ID:
            # The ad on screen counts already: caps and repeat gaps must see it.
            play = current.play
            on_screen = PlayRecord(play.ad_id, play.campaign, play.started_at)
        with self.history.including(on_screen) as history:
            return self.decider(audience, history, self.clock.now_utc(), frozenset(self.unplayable))

    # -- the loop --------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self.load_history()
        failing: str | None = None
        try:
            while not stop.is_set():
                started = self.plays_started
                try:
                    self.step()
                except Exception as exc:  # the screen must go on: standby until the next slot works
                    failing = self._step_failed(exc, failing)
                else:
                    if failing is not None and self.plays_started > started:  # a slot was decided again
                        log.info("the slot loop works again")
                        failing = None
                if self.player.quit_requested:
                    log.info("window closed: stopping")
                    stop.set()
                stop.wait(self.config.tick_s)
        finally:
            self.interrupt("player stopped")

    def _step_failed(self, exc: Exception, reported: str | None) -> str:
        """Report a failing step once per distinct error and put the standby slide up for one slot."""
        message = f"{type(exc).__name__}: {exc}"
        if message != reported:
            log.error(
                "the slot loop failed (%s); the standby slide plays until it works again",
                message,
                exc_info=exc,
            )
        self._next = None
        if self._current is None:
            try:
                self._start(Decision(None, "error", message))
            except Exception as again:
                log.debug("the standby slide could not be started either: %s", again)
        return message

    def step(self) -> None:
        """One iteration: pump the player, start the next item when the current one ended."""
        result = self.player.pump()
        now = self.clock.monotonic()
        if self.override is not None and self._overridden(result, now):
            return
        if self._current is None:
            self._start(self._next or self._decide())
            return
        if result is not None:
            self._finish(result)
            self._start(self._next or self._decide())
            return
        self._maybe_prepare_next()
        self._maybe_sample(now)
        self._maybe_screenshot(now)

    def _overridden(self, result: PlayResult | None, now: float) -> bool:
        """Put up what the fleet wants instead of the programme (an alert; black while the store is
        closed), checked at every step; True while it holds the screen. Closed, nothing is recorded."""
        assert self.override is not None
        wanted = self.override.wanted(self.clock.now_utc())
        shown = self._takeover
        if wanted is None and shown is None:
            return False
        if wanted != shown or result is not None:
            if result is not None and self._current is not None:
                self._finish(result)  # it ended on its own this very step
            self.interrupt(end_reason(shown, wanted, self.clock.now_utc()))
            self._next = None
            self._takeover = None
            if wanted is None:
                return False  # the programme takes over again at once
            if wanted.closed:
                self.player.show_black(wanted.item_id, TAKEOVER_SLOT_S)
            else:
                self._start(Decision(None, "alert", wanted.message), wanted)
            self._takeover = wanted  # only once it is up: a failure is tried again at the next step
            return True
        closed = AudienceSnapshot.unknown(now) if wanted is not None and wanted.closed else None
        self._maybe_sample(now, closed)  # heartbeats and the watchdog go on; the audience is unknown
        self._maybe_screenshot(now)  # of an alert (closed, nothing plays)
        return True

    def _maybe_prepare_next(self) -> None:
        remaining = self.player.remaining_s()
        if self._next is None and remaining is not None and remaining <= self.config.lead_s:
            self._next = self._decide()
            if self._next.ad is not None:
                self.player.prepare(self._next.ad)

    def _maybe_sample(self, now: float, snapshot: AudienceSnapshot | None = None) -> None:
        if self.observers and now - self._last_sample_mono >= self.config.sample_every_s:
            self._last_sample_mono = now
            snapshot = snapshot or self.audience()
            for observer in self.observers:
                observer.audience_sample(snapshot)

    def _maybe_screenshot(self, now: float) -> None:
        current = self._current
        if current is None or current.screenshot_due_mono is None or now < current.screenshot_due_mono:
            return
        current.screenshot_due_mono = None
        assert self.config.screenshots is not None
        name = f"{self.plays_started:05d}-{current.play.ad_id}.png"
        try:
            self.player.screenshot(self.config.screenshots / name)
        except OSError as exc:
            log.warning("could not save screenshot %s: %s", name, exc)

    def _start(self, decision: Decision, alert: Takeover | None = None) -> None:
        self._next = None
        audience = self.audience()
        now_utc, now_mono = self.clock.now_utc(), self.clock.monotonic()
        if alert is not None:  # an alert's display is a play of its own, never billed
            ad_id, advertiser, campaign, planned = alert.item_id, "", "", TAKEOVER_SLOT_S
            self.player.show_message(ad_id, alert.message, alert.media, planned)
        elif decision.ad is None:
            ad_id, advertiser, campaign, planned = STANDBY_ID, "", "", self.config.standby_slot_s
            self.player.show_standby(planned)
        else:
            ad = decision.ad
            ad_id, advertiser, campaign, planned = ad.ad_id, ad.advertiser, ad.campaign, ad.duration_s
            self.player.start(ad)
        play = Play(
            play_id=str(uuid.uuid4()),
            screen_id=self.config.screen_id,
            ad_id=ad_id,
            advertiser=advertiser,
            campaign=campaign,
            started_at=now_utc,
            ended_at=None,
            planned_s=planned,
            actual_s=0.0,
            outcome=None,
            rule=decision.rule,
            audience_known=audience.known,
            present_at_start=audience.present,
            watching_at_start=audience.watching,
            release_id=self.release_id(),
        )
        self.plays_started += 1
        log.debug("playing %s (%s: %s)", ad_id, decision.rule, decision.reason)
        due = None
        if self.config.screenshots is not None:
            due = now_mono + min(1.0, planned / 2)
        self._current = _OnScreen(play, now_mono, decision, due)
        if decision.ad is not None or alert is not None:
            self.sink.play_started(play)
        for observer in self.observers:
            observer.play_started(play, audience)

    def _finish(self, result: PlayResult) -> None:
        current = self._current
        assert current is not None
        self._current = None
        play = replace(
            current.play,
            ended_at=self.clock.now_utc(),
            actual_s=result.actual_s,
            outcome=result.outcome,
            reason=result.reason,
        )
        if play.ad_id.startswith(ALERT_PREFIX):  # however it ended: an alert's own outcome, no history
            play = replace(play, outcome=PlayOutcome.ALERT)
        elif result.outcome is PlayOutcome.SKIPPED and play.ad_id != STANDBY_ID:
            # The one report of a skip (players do not log it): once per reason, not at every retry.
            if result.reason not in self._skips_reported.setdefault(play.ad_id, set()):
                self._skips_reported[play.ad_id].add(result.reason)
                log.warning("ad %s skipped: %s", play.ad_id, result.reason)
            self.unplayable.add(play.ad_id)
        else:
            self._skips_reported.pop(play.ad_id, None)  # it played: a later failure is news again
        if play.ad_id != STANDBY_ID:
            self.sink.play_ended(play)
            if play.outcome not in (PlayOutcome.SKIPPED, PlayOutcome.ALERT):
                self._remember(PlayRecord(play.ad_id, play.campaign, play.started_at))
        audience = self.audience()
        for observer in self.observers:
            observer.play_ended(play, audience)

    def interrupt(self, reason: str) -> None:
        """Close the play on screen as interrupted (shutdown)."""
        if self._current is None:
            return
        result = self.player.stop_current(reason)
        if result is None:
            elapsed = self.clock.monotonic() - self._current.started_mono
            result = PlayResult(self._current.play.ad_id, PlayOutcome.INTERRUPTED, elapsed, reason)
        self._finish(result)
