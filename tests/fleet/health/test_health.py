"""Fleet health from the central rows: silent screens, old releases, the camera, standby only, and
the transitions the monitor publishes (each condition begins and ends once)."""

from __future__ import annotations

import json
from datetime import timedelta

from health_helpers import LIMITS, T0, facts, heard

from signage.domain import STANDBY_ID
from signage.fleet.central.health import (
    HealthLimits,
    camera_state,
    fleet_health,
    screen_health,
    transitions,
)
from signage.fleet.uplink_protocol import ScreenStatus
from signage.settings import FleetHealthSettings


def test_limits_come_from_the_settings() -> None:
    limits = HealthLimits.from_settings(FleetHealthSettings(silent_after_min=2, standby_only_after_min=45))
    assert limits == HealthLimits(timedelta(minutes=2), timedelta(minutes=45))


def test_a_screen_is_silent_after_the_limit_and_when_never_heard_from() -> None:
    beat = T0 - timedelta(minutes=5)
    at_limit = screen_health(heard(beat), T0, LIMITS)
    assert at_limit.online and at_limit.conditions == frozenset()
    assert at_limit.silent_for == timedelta(minutes=5)
    late = screen_health(heard(beat), T0 + timedelta(seconds=1), LIMITS)
    assert not late.online and late.conditions == {"silent"}
    assert late.last_heartbeat_utc == beat
    never = screen_health(facts(), T0, LIMITS)
    assert not never.online and never.conditions == {"silent"} and never.last_heartbeat_utc is None
    assert never.camera == "unknown" and never.power is None
    new = screen_health(facts(registered_utc=T0 - timedelta(minutes=5)), T0, LIMITS)
    assert not new.online and new.conditions == frozenset(), "just registered: not silent yet"
    overdue = screen_health(facts(registered_utc=T0 - timedelta(minutes=6)), T0, LIMITS)
    assert overdue.conditions == {"silent"}


def test_release_current_or_old() -> None:
    current = screen_health(heard(T0, release_id="north#2", expected_release_id="north#2"), T0, LIMITS)
    assert current.release_current and not current.old_release
    old = screen_health(heard(T0, release_id="north#1", expected_release_id="north#2"), T0, LIMITS)
    assert not old.release_current and old.old_release
    none_yet = screen_health(heard(T0, release_id=None, expected_release_id="north#2"), T0, LIMITS)
    assert none_yet.old_release, "a screen that plays its local files is behind its group"
    unpublished = screen_health(heard(T0, release_id=None, expected_release_id=None), T0, LIMITS)
    assert unpublished.release_current


def test_camera_offline_covered_and_unknown_while_silent() -> None:
    assert screen_health(heard(T0), T0, LIMITS).camera == "online"
    offline = screen_health(heard(T0, camera_online=False), T0, LIMITS)
    assert offline.camera == "offline" and offline.conditions == {"camera_offline"}
    covered = screen_health(heard(T0, camera_covered=True), T0, LIMITS)
    assert covered.camera == "covered" and covered.conditions == {"camera_covered"}
    stale = screen_health(heard(T0, camera_online=False), T0 + timedelta(hours=1), LIMITS)
    assert stale.camera == "unknown" and stale.conditions == {"silent"}
    status = heard(T0).status
    assert isinstance(status, ScreenStatus)
    assert camera_state(status, online=False) == "unknown"


def test_standby_only_counts_from_the_last_play_power_on_or_registration() -> None:
    last_play = T0 - timedelta(minutes=31)
    waiting = heard(T0, playing=STANDBY_ID, last_play_utc=last_play)
    health = screen_health(waiting, T0, LIMITS)
    assert health.standby_for == timedelta(minutes=31) and health.conditions == {"standby_only"}
    recent = heard(T0, playing=None, last_play_utc=T0 - timedelta(minutes=29))
    assert screen_health(recent, T0, LIMITS).conditions == frozenset()
    # Switched on by its opening hours 10 minutes ago: the night does not count.
    woke = heard(
        T0,
        playing=STANDBY_ID,
        last_play_utc=T0 - timedelta(hours=12),
        powered_on_utc=T0 - timedelta(minutes=10),
    )
    assert screen_health(woke, T0, LIMITS).standby_for == timedelta(minutes=10)
    # Never played since it was registered 3 days ago.
    assert "standby_only" in screen_health(heard(T0, playing=STANDBY_ID), T0, LIMITS).conditions


def test_standby_only_needs_an_online_powered_screen_showing_no_ad() -> None:
    old_play = T0 - timedelta(hours=2)
    playing = heard(T0, playing="ad-a", last_play_utc=old_play)
    assert screen_health(playing, T0, LIMITS).standby_for is None
    closed = heard(T0, playing=None, power="off", last_play_utc=old_play)
    assert screen_health(closed, T0, LIMITS).standby_for is None
    silent = heard(T0 - timedelta(hours=1), playing=None, last_play_utc=old_play)
    assert screen_health(silent, T0, LIMITS).conditions == {"silent"}


def test_plays_in_the_last_hour_take_the_larger_of_rows_and_heartbeat() -> None:
    assert screen_health(heard(T0, plays=12, plays_last_hour=9), T0, LIMITS).plays_last_hour == 12
    assert screen_health(heard(T0, plays=3, plays_last_hour=9), T0, LIMITS).plays_last_hour == 9
    gone = heard(T0 - timedelta(hours=2), plays=40, plays_last_hour=0)
    assert screen_health(gone, T0, LIMITS).plays_last_hour == 0, "a stale heartbeat's count is old news"


def test_transitions_begin_and_end_once() -> None:
    first, state = transitions(
        {}, fleet_health([heard(T0, "s1"), heard(T0, "s2", camera_online=False)], T0, LIMITS), T0
    )
    assert [(e.screen_id, e.condition, e.state) for e in first] == [("s2", "camera_offline", "began")]
    later = T0 + timedelta(minutes=1)
    again, state = transitions(
        state,
        fleet_health([heard(later, "s1"), heard(later, "s2", camera_online=False)], later, LIMITS),
        later,
    )
    assert again == [], "no repeated alert while a state persists"
    back, state = transitions(
        state, fleet_health([heard(later, "s1"), heard(later, "s2")], later, LIMITS), later
    )
    assert [(e.screen_id, e.condition, e.state) for e in back] == [("s2", "camera_offline", "ended")]
    assert back[0].message == "screen s2 (store paris-1) has its camera back"
    assert state == {"s1": frozenset(), "s2": frozenset()}


def test_a_silent_screen_keeps_its_last_conditions_until_it_is_heard_again() -> None:
    beat = T0
    _, state = transitions({}, [screen_health(heard(beat, camera_covered=True), beat, LIMITS)], beat)
    assert state == {"s1": {"camera_covered"}}
    quiet = T0 + timedelta(minutes=6)
    events, state = transitions(
        state, [screen_health(heard(beat, camera_covered=True), quiet, LIMITS)], quiet
    )
    assert [(e.condition, e.state) for e in events] == [("silent", "began")]
    assert events[0].message.startswith("screen s1 (store paris-1) is silent: no heartbeat for 6 min")
    assert state == {"s1": {"silent", "camera_covered"}}
    back = quiet + timedelta(minutes=1)
    events, state = transitions(state, [screen_health(heard(back), back, LIMITS)], back)
    assert sorted((e.condition, e.state) for e in events) == [
        ("camera_covered", "ended"),
        ("silent", "ended"),
    ]


def test_a_removed_screen_is_forgotten_quietly() -> None:
    _, state = transitions({}, [screen_health(facts("gone"), T0, LIMITS)], T0)
    events, state = transitions(state, [], T0 + timedelta(minutes=1))
    assert events == [] and state == {}


def test_the_event_json() -> None:
    events, _ = transitions({}, [screen_health(heard(T0, playing=STANDBY_ID), T0, LIMITS)], T0)
    (event,) = events
    doc = json.loads(event.payload())
    assert doc == {
        "kind": "screen_health",
        "screen_id": "s1",
        "store_id": "paris-1",
        "condition": "standby_only",
        "state": "began",
        "at_utc": T0.isoformat(),
        "message": "screen s1 (store paris-1) has shown only the standby slide for 72.0 h",
    }
