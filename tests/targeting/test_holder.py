"""Hot reload: a changed file is swapped in at the next slot; a bad one keeps the last good rules."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from targeting_helpers import PARIS

from signage.targeting.holder import RulesHolder

GOOD = "rules:\n  - {id: one, play: {ads: [a]}}\n"
BETTER = "rules:\n  - {id: one, play: {ads: [a]}}\n  - {id: two, play: {ads: [b]}}\n"
BAD = "rules:\n  - {id: one, play: {ads: [a]}, tier: lots}\n"


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))  # explicit stamps: no sleeping for the clock to tick


def ids(holder: RulesHolder, now: float) -> list[str]:
    return [r.rule_id for r in holder.current(now).rules]


def test_change_is_picked_up_bad_file_keeps_last_good_and_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = RulesHolder([path], PARIS, check_interval_s=0.0)
    assert ids(holder, 0.0) == ["one"]
    assert holder.status.valid and holder.status.rules == 1 and holder.status.error == ""

    write(path, BETTER, 2_000_000_000)
    assert ids(holder, 1.0) == ["one", "two"]
    assert holder.status.loaded_at_mono == 1.0

    caplog.set_level(logging.ERROR, logger="signage.targeting.holder")
    write(path, BAD, 3_000_000_000)
    for now in (2.0, 3.0, 4.0):
        assert ids(holder, now) == ["one", "two"]  # last good rules stay in force
    status = holder.status
    assert not status.valid and status.rules == 2
    assert status.error.startswith(f"{path}:2:")
    assert "integer" in status.error
    assert len(caplog.records) == 1  # reported once, not every slot

    write(path, GOOD, 4_000_000_000)
    assert ids(holder, 5.0) == ["one"]
    assert holder.status.valid


def test_missing_file_at_start_gives_no_rules_and_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    holder = RulesHolder([path], PARIS, check_interval_s=0.0)
    assert ids(holder, 0.0) == []
    assert not holder.status.valid and "not found" in holder.status.error
    write(path, GOOD, 1_000_000_000)
    assert ids(holder, 1.0) == ["one"]


def test_deleted_file_keeps_rules(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = RulesHolder([path], PARIS, check_interval_s=0.0)
    holder.current(0.0)
    path.unlink()
    assert ids(holder, 1.0) == ["one"]
    assert not holder.status.valid


def test_unchanged_content_keeps_the_same_compiled_rules(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = RulesHolder([path], PARIS, check_interval_s=0.0)
    first = holder.current(0.0)
    write(path, GOOD, 2_000_000_000)  # touched, same bytes
    assert holder.current(1.0) is first


def test_files_are_not_stat_more_often_than_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = RulesHolder([path], PARIS, check_interval_s=5.0)
    holder.current(0.0)
    write(path, BETTER, 2_000_000_000)
    assert ids(holder, 4.0) == ["one"]
    assert ids(holder, 5.0) == ["one", "two"]
