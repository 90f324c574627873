"""The fleet agent's files as the player reads them: cached by change, missing or corrupt as none."""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
from screen_helpers import START, alert, daily

from signage.clock import FakeClock
from signage.fleet.directives import FileDirectives
from signage.fleet.protocol import ReleaseFile


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_utc=START)


def test_missing_files_mean_no_alert_and_always_open(tmp_path: Path, clock: FakeClock) -> None:
    directives = FileDirectives(tmp_path / "fleet", clock.monotonic)
    assert directives.active_alerts(START) == () and directives.hours() is None


def test_alerts_are_read_active_only_oldest_first(tmp_path: Path, clock: FakeClock) -> None:
    later = alert("flood", at=START + timedelta(minutes=1))
    gone = alert("old", cleared=True)
    expiring = alert("soon", minutes=5, at=START - timedelta(minutes=1))
    write(tmp_path / "alerts.json", json.dumps([a.to_json() for a in (later, gone, expiring)]))
    directives = FileDirectives(tmp_path, clock.monotonic)
    assert [a.alert_id for a in directives.active_alerts(START)] == ["soon", "flood"]
    assert [a.alert_id for a in directives.active_alerts(START + timedelta(minutes=4))] == ["flood"]


def test_hours_round_trip_and_a_change_is_seen_after_the_recheck(tmp_path: Path, clock: FakeClock) -> None:
    hours = daily("08:00", "20:00")
    write(tmp_path / "hours.json", json.dumps(hours.to_json()))
    directives = FileDirectives(tmp_path, clock.monotonic, recheck_s=0.5)
    assert directives.hours() == hours
    other = daily("09:00", "19:00")
    write(tmp_path / "hours.json", json.dumps(other.to_json()))
    os.utime(tmp_path / "hours.json", ns=(1, 1))  # a new modification time, whatever the file system's
    clock.advance(0.1)
    assert directives.hours() == hours, "looked at no more often than every recheck_s"
    clock.advance(0.5)
    assert directives.hours() == other


def test_a_corrupt_file_is_reported_once_and_counts_as_none(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "alerts.json", json.dumps([alert().to_json()]))
    directives = FileDirectives(tmp_path, clock.monotonic, recheck_s=0.0)
    assert len(directives.active_alerts(START)) == 1
    write(tmp_path / "alerts.json", '[{"alert_id": "x",\n "group": ')
    with caplog.at_level(logging.WARNING, "signage.fleet.directives"):
        for _ in range(5):
            assert directives.active_alerts(START) == ()
    (record,) = caplog.records
    assert f"{tmp_path / 'alerts.json'}:2:" in record.getMessage() and "not valid JSON" in record.getMessage()
    caplog.clear()
    write(tmp_path / "hours.json", json.dumps({"timezone": "UTC", "weekly": [[]]}))
    with caplog.at_level(logging.WARNING, "signage.fleet.directives"):
        assert directives.hours() is None and directives.hours() is None
    (record,) = caplog.records
    assert "hours.json cannot be used: weekly hours need seven days" in record.getMessage()


def test_alert_media_is_the_downloaded_blob_once_it_exists(tmp_path: Path, clock: FakeClock) -> None:
    sha = "cd" * 32
    with_media = alert(media=ReleaseFile("media/exit.png", sha, 4))
    directives = FileDirectives(tmp_path, clock.monotonic, recheck_s=0.5)
    assert directives.alert_media(alert()) is None
    assert directives.alert_media(with_media) is None
    write(tmp_path / "blobs" / sha, "data")
    clock.advance(0.6)
    assert directives.alert_media(with_media) == tmp_path / "blobs" / sha
