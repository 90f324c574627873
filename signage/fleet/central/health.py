"""Each screen's health, from what the central tables say about it (docs/fleet.md, "MQTT").

Pure: ``screen_health(facts, now, limits)`` reads no clock, table or file; ``signage.fleet.central.
health_rows`` gathers the facts and ``health_monitor`` turns changes into alerts. A screen is

- **silent** (offline) when its last heartbeat arrived more than ``silent_after`` ago, or never
  in the ``silent_after`` since it was registered;
- on an **old release** when the release it reports is not its groups' newest one;
- **camera offline** or **camera covered** as its last heartbeat says (``camera_online``,
  ``camera_covered``); unknown while it is silent, since that heartbeat is stale;
- **standby only** when it is online, powered on and showing no ad, and nothing but the standby
  slide has played for ``standby_only_after`` (since its last play, its last power-on or its
  registration, whichever is latest).

``conditions`` are the states that raise a health alert: silent, camera offline, camera covered,
standby only. Each begins and ends once (``transitions``), never repeated while it lasts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from signage.domain import STANDBY_ID
from signage.fleet.uplink_protocol import PowerState, ScreenStatus
from signage.settings import FleetHealthSettings

CameraState = Literal["online", "offline", "covered", "unknown"]
Condition = Literal["silent", "camera_offline", "camera_covered", "standby_only"]
CONDITIONS: tuple[Condition, ...] = ("silent", "camera_offline", "camera_covered", "standby_only")
EventState = Literal["began", "ended"]
# What a silent screen's last heartbeat said is kept, not called over: no "recovery" while silent.
_HELD_WHILE_SILENT: frozenset[Condition] = frozenset({"camera_offline", "camera_covered", "standby_only"})


@dataclass(frozen=True)
class HealthLimits:
    silent_after: timedelta
    standby_only_after: timedelta

    @classmethod
    def from_settings(cls, settings: FleetHealthSettings) -> HealthLimits:
        return cls(
            silent_after=timedelta(minutes=settings.silent_after_min),
            standby_only_after=timedelta(minutes=settings.standby_only_after_min),
        )


@dataclass(frozen=True)
class ScreenFacts:
    """What the central tables hold about one registered screen."""

    screen_id: str
    store_id: str
    groups: tuple[str, ...]
    registered_utc: datetime
    status: ScreenStatus | None = None  # its latest heartbeat
    received_utc: datetime | None = None  # when that heartbeat arrived
    expected_release_id: str | None = None  # the newest release of its groups; None: none published
    plays_last_hour: int = 0  # its play rows centrally that started in the last hour
    last_play_utc: datetime | None = None  # when its newest play row ended (or started)
    powered_on_utc: datetime | None = None  # its last power-on event
    screenshot_utc: datetime | None = None  # when its last screenshot arrived


@dataclass(frozen=True)
class ScreenHealth:
    screen_id: str
    store_id: str
    groups: tuple[str, ...]
    online: bool
    last_heartbeat_utc: datetime | None
    silent_for: timedelta | None  # since the last heartbeat; None: never heard from
    release_id: str | None
    expected_release_id: str | None
    camera: CameraState
    plays_last_hour: int
    disk_free_bytes: int | None
    screenshot_utc: datetime | None
    power: PowerState | None  # None: unknown (no heartbeat)
    playing_ad_id: str | None
    standby_for: timedelta | None  # showing only the standby slide this long; None: not now
    conditions: frozenset[Condition]

    @property
    def release_current(self) -> bool:
        """Runs its groups' newest release (trivially true while none is published)."""
        return self.expected_release_id is None or self.release_id == self.expected_release_id

    @property
    def old_release(self) -> bool:
        """It reports a release, and not the newest one: "still runs an old release"."""
        return self.online and not self.release_current


def camera_state(status: ScreenStatus | None, online: bool) -> CameraState:
    if status is None or not online:
        return "unknown"
    if not status.camera_online:
        return "offline"
    return "covered" if status.camera_covered else "online"


def _standby_for(facts: ScreenFacts, now: datetime, online: bool) -> timedelta | None:
    status = facts.status
    if status is None or not online or status.power != "on":
        return None
    if status.playing_ad_id not in (None, STANDBY_ID):
        return None
    since = max(t for t in (facts.registered_utc, facts.last_play_utc, facts.powered_on_utc) if t is not None)
    return max(timedelta(0), now - since)


def screen_health(facts: ScreenFacts, now: datetime, limits: HealthLimits) -> ScreenHealth:
    status = facts.status
    heard = facts.received_utc if status is not None else None
    silent_for = None if heard is None else max(timedelta(0), now - heard)
    online = silent_for is not None and silent_for <= limits.silent_after
    camera = camera_state(status, online)
    standby_for = _standby_for(facts, now, online)
    conditions: set[Condition] = set()
    # A screen never heard from is silent once it has had the time to say something.
    if not online and (heard is not None or now - facts.registered_utc > limits.silent_after):
        conditions.add("silent")
    if camera == "offline":
        conditions.add("camera_offline")
    elif camera == "covered":
        conditions.add("camera_covered")
    if standby_for is not None and standby_for >= limits.standby_only_after:
        conditions.add("standby_only")
    reported_plays = status.plays_last_hour if status is not None and online else 0
    return ScreenHealth(
        screen_id=facts.screen_id,
        store_id=facts.store_id,
        groups=facts.groups,
        online=online,
        last_heartbeat_utc=heard,
        silent_for=silent_for,
        release_id=status.release_id if status is not None else None,
        expected_release_id=facts.expected_release_id,
        camera=camera,
        # The rows lag by a sync, the heartbeat by a beat: both count the same plays.
        plays_last_hour=max(facts.plays_last_hour, reported_plays),
        disk_free_bytes=status.disk_free_bytes if status is not None else None,
        screenshot_utc=facts.screenshot_utc,
        power=status.power if status is not None else None,
        playing_ad_id=status.playing_ad_id if status is not None else None,
        standby_for=standby_for,
        conditions=frozenset(conditions),
    )


def fleet_health(
    facts: Iterable[ScreenFacts], now: datetime, limits: HealthLimits
) -> tuple[ScreenHealth, ...]:
    return tuple(screen_health(f, now, limits) for f in facts)


# -- transitions: what the monitor publishes ------------------------------------------------------


@dataclass(frozen=True)
class HealthEvent:
    """One condition of one screen beginning or ending; the JSON on ``protocol.health_topic``."""

    screen_id: str
    store_id: str
    condition: Condition
    state: EventState
    at_utc: datetime
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "screen_health",
            "screen_id": self.screen_id,
            "store_id": self.store_id,
            "condition": self.condition,
            "state": self.state,
            "at_utc": self.at_utc.isoformat(),
            "message": self.message,
        }

    def payload(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True).encode("utf-8")


def _minutes(span: timedelta | None) -> str:
    if span is None:
        return "ever"
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def describe(health: ScreenHealth, condition: Condition, state: EventState) -> str:
    """One sentence for the log and the alert."""
    who = f"screen {health.screen_id} (store {health.store_id})"
    if state == "ended":
        back = {
            "silent": "is heard from again",
            "camera_offline": "has its camera back",
            "camera_covered": "sees through its camera again",
            "standby_only": "plays ads again",
        }[condition]
        return f"{who} {back}"
    if condition == "silent":
        if health.last_heartbeat_utc is None:
            return f"{who} is silent: it never sent a heartbeat"
        return (
            f"{who} is silent: no heartbeat for {_minutes(health.silent_for)} "
            f"(last {health.last_heartbeat_utc:%Y-%m-%d %H:%M}Z)"
        )
    if condition == "camera_offline":
        return f"{who}: its camera is offline"
    if condition == "camera_covered":
        return f"{who}: its camera is covered (the picture shows nothing)"
    return f"{who} has shown only the standby slide for {_minutes(health.standby_for)}"


def held_conditions(previous: frozenset[Condition], health: ScreenHealth) -> frozenset[Condition]:
    """The conditions to compare with: a silent screen keeps what its last heartbeat said."""
    if "silent" not in health.conditions:
        return health.conditions
    return health.conditions | (previous & _HELD_WHILE_SILENT)


def transitions(
    previous: Mapping[str, frozenset[Condition]], healths: Iterable[ScreenHealth], now: datetime
) -> tuple[list[HealthEvent], dict[str, frozenset[Condition]]]:
    """The events from ``previous`` (screen -> conditions) to ``healths``, and the new mapping.

    A screen seen for the first time begins whatever it has (no recovery from an unknown past). A
    screen no longer listed (removed) is forgotten without an event.
    """
    events: list[HealthEvent] = []
    current: dict[str, frozenset[Condition]] = {}
    for health in healths:
        before = previous.get(health.screen_id, frozenset())
        now_held = held_conditions(before, health)
        current[health.screen_id] = now_held
        for condition in CONDITIONS:
            if condition in now_held and condition not in before:
                state: EventState = "began"
            elif condition in before and condition not in now_held:
                state = "ended"
            else:
                continue
            events.append(
                HealthEvent(
                    health.screen_id,
                    health.store_id,
                    condition,
                    state,
                    now,
                    describe(health, condition, state),
                )
            )
    return events, current
