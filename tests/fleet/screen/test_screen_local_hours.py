"""``hours:`` in the screen's settings: the shop's own opening hours, winning over the fleet's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from screen_helpers import alert, daily

from signage.fleet.directives import FakeDirectives
from signage.fleet.hours import is_open
from signage.fleet.hours_settings import LocalHours
from signage.fleet.protocol import OpeningSpan
from signage.settings import load_settings
from signage.yamlconf import ConfigError

WEEK = """\
timezone: Europe/Paris
data_dir: data
hours:
  mon: ["08:00-20:00"]
  tue: ["08:00-12:30", "14:00-20:00"]
  wed: ["08:00-20:00"]
  thu: ["08:00-20:00"]
  fri: ["08:00-20:00"]
  sat: ["20:00-02:00"]
  sun: []
  exceptions:
    2026-12-25: []
    2026-12-24: ["08:00-14:00"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "signage.yaml"
    path.write_text(text)
    return path


def test_the_settings_hours_become_store_hours_in_the_screen_timezone(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, WEEK))
    assert settings.hours is not None
    hours = settings.hours.store_hours(settings.timezone)
    assert hours.timezone == "Europe/Paris"
    assert hours.weekly[1] == (OpeningSpan(time(8), time(12, 30)), OpeningSpan(time(14), time(20)))
    assert hours.weekly[6] == ()
    assert hours.exceptions == (
        (date(2026, 12, 24), (OpeningSpan(time(8), time(14)),)),
        (date(2026, 12, 25), ()),
    )
    assert is_open(hours, datetime(2026, 11, 29, 0, 30, tzinfo=UTC))  # 01:30 Sunday: Saturday's late span
    assert not is_open(hours, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))  # Tuesday 13:00: lunch


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (WEEK.replace("  sun: []\n", ""), "hours", "sun"),
        (WEEK.replace('"08:00-12:30"', '"8-12"'), "hours.tue", "should match pattern"),
        (
            WEEK.replace("timezone: Europe/Paris\n", "") + "  timezone: Mars/Olympus\n",
            "hours.timezone",
            "unknown time zone",
        ),
    ],
)
def test_a_mistake_in_the_hours_is_located(tmp_path: Path, text: str, where: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    (finding,) = info.value.findings
    assert finding.key.startswith(where) and words in str(info.value)
    assert finding.line > 0


def test_local_hours_win_and_fleet_alerts_still_come_through() -> None:
    fleet = FakeDirectives(alerts=(alert(),), store_hours=daily("08:00", "20:00"))
    local = LocalHours(daily("10:00", "18:00"), fleet)
    assert local.hours() == daily("10:00", "18:00")
    assert [a.alert_id for a in local.active_alerts(datetime(2026, 11, 23, 9, tzinfo=UTC))] == ["fire"]
    alone = LocalHours(daily("10:00", "18:00"))
    assert (
        alone.active_alerts(datetime(2026, 11, 23, 9, tzinfo=UTC)) == ()
        and alone.alert_media(alert()) is None
    )
