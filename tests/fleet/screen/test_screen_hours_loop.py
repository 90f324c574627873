"""Outside opening hours the screen is black and off, perception pauses and nothing is counted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from screen_helpers import Rig, alert, daily

from signage.clock import FakeClock
from signage.domain import PlayOutcome
from signage.fleet.directives import FakeDirectives

CLOSING = datetime(2026, 11, 23, 18, 59, 50, tzinfo=UTC)  # 19:59:50 in Paris, ten seconds to closing
NIGHT = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # midnight in Paris


def test_closing_time_cuts_the_ad_powers_off_once_and_records_nothing(tmp_path: Path) -> None:
    rig = Rig(
        tmp_path, FakeDirectives(store_hours=daily("08:00", "20:00")), clock=FakeClock(start_utc=CLOSING)
    )
    rig.run_for(9.0)
    assert rig.power.calls == ["on"] and not rig.override.perception_paused.is_set()
    plays_before = len(rig.plays())
    rig.run_for(2.0)
    assert rig.on_screen() == "closed"
    cut = rig.plays()[-1]
    assert cut.outcome is PlayOutcome.INTERRUPTED and cut.reason == "closed"
    assert rig.power.calls == ["on", "off"] and rig.override.perception_paused.is_set()
    (event,) = rig.power_log.events
    assert (event.screen_id, event.state, event.reason) == ("s1", "off", "hours")
    assert event.at == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    known = rig.counting.known_samples
    samples = rig.counting.samples
    started = list(rig.counting.started)
    rig.run_for(3 * 3600.0, tick=1.0)  # the night goes on
    assert len(rig.plays()) == plays_before, "no play row while closed"
    assert rig.power.calls == ["on", "off"], "switched off once"
    assert rig.counting.samples > samples, "heartbeats and the watchdog still hear from the loop"
    assert rig.counting.known_samples == known, "and the audience they hear of is unknown"
    assert set(rig.player.shown[-3:]) == {"closed"} and rig.loop.plays_started == plays_before
    assert rig.counting.started == started, "no play for impressions or OTS to be counted on"


def test_opening_time_powers_on_and_the_ads_resume(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakeDirectives(store_hours=daily("08:00", "20:00")), clock=FakeClock(start_utc=NIGHT))
    rig.run_for(10.0)
    assert rig.player.shown == ["closed"] and rig.plays() == []
    assert rig.power.calls == ["off"]
    rig.run_for(8 * 3600.0 - 20.0, tick=5.0)  # to 07:59:50 in Paris
    assert rig.plays() == []
    rig.run_for(20.0)
    assert rig.power.calls == ["off", "on"] and not rig.override.perception_paused.is_set()
    assert [(e.state, e.reason) for e in rig.power_log.events] == [("off", "hours"), ("on", "hours")]
    assert rig.power_log.events[1].at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert rig.on_screen() in ("a", "b")
    first = rig.plays()[0]
    assert first.started_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    rig.run_for(12.0)
    assert rig.plays(PlayOutcome.COMPLETED), "plays are recorded again"


def test_an_alert_at_night_wakes_the_screen_and_lets_it_sleep_again(tmp_path: Path) -> None:
    directives = FakeDirectives(store_hours=daily("08:00", "20:00"))
    rig = Rig(tmp_path, directives, clock=FakeClock(start_utc=NIGHT))
    rig.run_for(5.0)
    directives.alerts = (alert(at=rig.clock.now_utc()),)
    rig.run_for(10.0)
    assert rig.player.shown == ["closed", "alert:fire"]
    assert rig.power.calls == ["off", "on"]
    directives.alerts = ()
    rig.run_for(5.0)
    assert rig.player.shown == ["closed", "alert:fire", "closed"]
    assert [(e.state, e.reason) for e in rig.power_log.events] == [
        ("off", "hours"),
        ("on", "alert"),
        ("off", "hours"),
    ]
    (shown,) = rig.plays()
    assert shown.ad_id == "alert:fire" and shown.outcome is PlayOutcome.ALERT


def test_hours_that_cannot_be_evaluated_leave_the_screen_open_and_alerts_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directives = FakeDirectives(store_hours=daily("08:00", "20:00", tz="Mars/Olympus"))
    rig = Rig(tmp_path, directives, clock=FakeClock(start_utc=NIGHT))
    with caplog.at_level(logging.ERROR, "signage.fleet.override"):
        rig.run_for(12.0)
    assert rig.plays(PlayOutcome.COMPLETED) and rig.power.calls == ["on"]
    (record,) = caplog.records
    assert (
        "could not read the fleet's opening hours" in record.getMessage()
        and "Mars/Olympus" in record.getMessage()
    )
    directives.alerts = (alert(at=rig.clock.now_utc()),)
    rig.run_for(1.0)
    assert rig.on_screen() == "alert:fire"
