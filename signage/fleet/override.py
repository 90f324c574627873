"""What takes the screen from the programme: an emergency alert, or the store being closed.

The slot loop asks ``Override.wanted(now_utc)`` at every step. An active alert wins over everything
(the newest one when several are active), even outside opening hours: a safety message must reach
whoever is in the store. Otherwise, outside opening hours, the screen is closed: black, the panel
switched off (``ScreenPower``), perception paused, nothing counted. ``Override`` itself switches the
power, pauses perception and records each power change (``PowerEvent``); the loop decides what is
drawn and what is recorded as a play (``signage.loop``).

A failure here never stops the programme: a directive that cannot be evaluated (an unknown time
zone in the hours) is reported once and the screen stays open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

from signage.domain import ALERT_PREFIX
from signage.fleet.directives import FleetDirectives
from signage.fleet.hours import is_open, next_change
from signage.fleet.power import PowerEvent, PowerEventSink, PowerReason, ScreenPower
from signage.fleet.protocol import Alert
from signage.fleet.uplink_protocol import PowerState

log = logging.getLogger(__name__)

T = TypeVar("T")
CLOSED_ID = "closed"  # what the player is told it shows outside opening hours (never a play)
TAKEOVER_SLOT_S = 3600.0  # an alert still active after this long is recorded as a new display


@dataclass(frozen=True)
class Takeover:
    """What is on screen instead of the programme: an alert's message, or black while closed."""

    item_id: str  # ``alert:<alert id>``, or ``CLOSED_ID``
    message: str = ""
    media: Path | None = None  # the alert's picture, once downloaded
    until_utc: datetime | None = None  # when the alert expires; None until cleared

    @property
    def closed(self) -> bool:
        return self.item_id == CLOSED_ID


CLOSED = Takeover(CLOSED_ID)


class ScreenOverride(Protocol):
    def wanted(self, now_utc: datetime) -> Takeover | None:
        """What must be on screen at ``now_utc`` instead of the programme; None: the programme."""


def alert_takeover(alert: Alert, media: Path | None) -> Takeover:
    return Takeover(f"{ALERT_PREFIX}{alert.alert_id}", alert.message, media, alert.until_utc)


def end_reason(shown: Takeover | None, wanted: Takeover | None, now_utc: datetime) -> str:
    """Why what is on screen (``shown``; None: the programme) gives way to ``wanted``, one phrase:
    the reason of the play it closes."""
    if shown is None or shown.closed:
        return "closed" if wanted is not None and wanted.closed else "alert"
    if wanted is not None and wanted.item_id == shown.item_id:
        return "alert updated"
    if wanted is not None and not wanted.closed:
        return f"replaced by {wanted.item_id}"
    if shown.until_utc is not None and now_utc >= shown.until_utc:
        return "expired"
    return "cleared"


class Override:
    """The loop's view of the fleet's directives, with the screen power that goes with them."""

    def __init__(
        self,
        directives: FleetDirectives,
        screen_id: str,
        power: ScreenPower,
        events: PowerEventSink | None = None,
        perception_paused: threading.Event | None = None,
    ) -> None:
        self.directives = directives
        self.screen_id = screen_id
        self.power = power
        self.events = events
        self.perception_paused = perception_paused or threading.Event()
        self._power_state: PowerState | None = None  # None: not switched yet by this process
        self._failures: dict[str, str] = {}  # what could not be read -> the error reported last
        self._alert_ids: tuple[str, ...] = ()

    @property
    def power_state(self) -> PowerState:
        """The power as last switched ("on" or "off"), for heartbeats; "on" before the first step."""
        return self._power_state or "on"

    def wanted(self, now_utc: datetime) -> Takeover | None:
        """What must be on screen at ``now_utc`` instead of the programme; None: the programme."""
        none: tuple[Alert, ...] = ()
        alerts = self._read("alerts", lambda: self.directives.active_alerts(now_utc), none)
        open_now = self._read("opening hours", lambda: is_open(self.directives.hours(), now_utc), True)
        wanted = None
        if alerts:
            media = self._read("alert picture", lambda: self.directives.alert_media(alerts[-1]), None)
            wanted = alert_takeover(alerts[-1], media)
        self._note_alerts(alerts)
        if wanted is None and not open_now:
            wanted = CLOSED
        self._switch(
            "off" if wanted is CLOSED else "on", "alert" if alerts and not open_now else "hours", now_utc
        )
        return wanted

    def _read(self, what: str, read: Callable[[], T], fallback: T) -> T:
        """``read()``, or ``fallback`` while it fails (reported once): a directive that cannot be
        evaluated (hours in an unknown time zone) leaves the rest in force and the screen open."""
        try:
            value = read()
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            if self._failures.get(what) != message:
                log.error("could not read the fleet's %s (%s); ignored until that works again", what, message)
                self._failures[what] = message
            return fallback
        if self._failures.pop(what, None) is not None:
            log.info("the fleet's %s can be read again", what)
        return value

    def _note_alerts(self, alerts: tuple[Alert, ...]) -> None:
        ids = tuple(a.alert_id for a in alerts)
        if ids == self._alert_ids:
            return
        if ids:
            shown = alerts[-1]
            log.warning(
                "emergency alert %s on screen: %r%s",
                shown.alert_id,
                shown.message,
                f" (and {len(ids) - 1} older active alert(s))" if len(ids) > 1 else "",
            )
        else:
            log.info("no emergency alert is active any more")
        self._alert_ids = ids

    def _switch(self, state: PowerState, reason: PowerReason, now_utc: datetime) -> None:
        before = self._power_state
        if state == before:
            return
        self._power_state = state
        if state == "off":
            self.perception_paused.set()
            self.power.off()
        else:
            self.perception_paused.clear()
            self.power.on()  # at start-up too: a panel an earlier run left off wakes up
        if before is None and state == "on":
            return  # not a change anyone made: the player has just started during opening hours
        self._log_switch(state, reason, now_utc)
        if self.events is not None:
            self.events.write_power_event(PowerEvent(self.screen_id, now_utc, state, reason))

    def _log_switch(self, state: PowerState, reason: PowerReason, now_utc: datetime) -> None:
        try:
            change = next_change(self.directives.hours(), now_utc)
        except Exception:  # only for the log line; ``wanted`` reports a bad directive
            change = None
        until = f" until {change.isoformat()}" if change is not None else ""
        if state == "off":
            log.info("the store is closed: screen off, perception paused, nothing counted%s", until)
        elif reason == "alert":
            log.warning("screen on outside opening hours for an emergency alert")
        else:
            log.info("the store is open: screen on, perception running%s", until)
