"""Hot reload of the rules: a changed file is swapped in; a bad one keeps the last good rules."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from targeting_helpers import PARIS

from signage.clock import FakeClock
from signage.reloader import Reloader
from signage.targeting.holder import read_rules, rules_reloader
from signage.targeting.ruleset import RuleSet
from signage.yamlconf import ConfigError

GOOD = "rules:\n  - {id: one, play: {ads: [a]}}\n"
BETTER = "rules:\n  - {id: one, play: {ads: [a]}}\n  - {id: two, play: {ads: [b]}}\n"
BAD = "rules:\n  - {id: one, play: {ads: [a]}, tier: lots}\n"


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))  # explicit stamps: no sleeping for the clock to tick


def ids(holder: Reloader[RuleSet]) -> list[str]:
    holder.check()
    return [r.rule_id for r in holder.current().rules]


def test_change_is_picked_up_bad_file_keeps_last_good_and_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    clock = FakeClock(start=0.0)
    holder = rules_reloader([path], PARIS, clock)
    assert ids(holder) == ["one"]
    assert holder.status.valid and holder.status.error == "" and holder.version == 1

    clock.advance(1.0)
    write(path, BETTER, 2_000_000_000)
    assert ids(holder) == ["one", "two"]
    assert holder.status.loaded_at_mono == 1.0

    caplog.set_level(logging.ERROR, logger="signage.reloader")
    write(path, BAD, 3_000_000_000)
    for _ in range(3):
        clock.advance(1.0)
        assert ids(holder) == ["one", "two"]  # last good rules stay in force
    status = holder.status
    assert not status.valid and status.version == 2
    assert status.error.startswith(f"{path}:2:")
    assert "integer" in status.error
    assert len(caplog.records) == 1  # reported once, not every check

    write(path, GOOD, 4_000_000_000)
    assert ids(holder) == ["one"]
    assert holder.status.valid


def test_restoring_the_file_in_force_clears_the_error(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = rules_reloader([path], PARIS, FakeClock(start=0.0))
    first = holder.current() if holder.check() else None
    write(path, BAD, 2_000_000_000)
    holder.check()
    assert not holder.status.valid
    write(path, GOOD, 3_000_000_000)  # back to the content in force
    holder.check()
    status = holder.status  # read afresh: check() changed it since the assert above
    assert status.valid and status.error == ""
    assert holder.current() is first  # nothing recompiled


def test_missing_file_at_start_gives_no_rules_and_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    holder = rules_reloader([path], PARIS, FakeClock(start=0.0))
    assert ids(holder) == []
    assert not holder.status.valid and "not found" in holder.status.error
    write(path, GOOD, 1_000_000_000)
    assert ids(holder) == ["one"]


def test_deleted_file_keeps_rules(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = rules_reloader([path], PARIS, FakeClock(start=0.0))
    holder.check()
    path.unlink()
    assert ids(holder) == ["one"]
    assert not holder.status.valid


def test_unchanged_content_keeps_the_same_compiled_rules(tmp_path: Path) -> None:
    path = tmp_path / "store.yaml"
    write(path, GOOD, 1_000_000_000)
    holder = rules_reloader([path], PARIS, FakeClock(start=0.0))
    holder.check()
    first = holder.current()
    write(path, GOOD, 2_000_000_000)  # touched, same bytes
    assert not holder.check()
    assert holder.current() is first


def test_the_player_reads_up_to_the_first_bad_rule_file_and_names_it(tmp_path: Path) -> None:
    good, bad, absent = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_bytes(b"rules: [\xff\xfe]\n")
    with pytest.raises(ConfigError) as caught:
        read_rules([good, bad, absent], PARIS)
    assert [(f.file, f.message) for f in caught.value.findings] == [(str(bad), "rule file is not UTF-8 text")]
    with pytest.raises(ConfigError) as caught:
        read_rules([absent, good], PARIS)
    assert [f.message for f in caught.value.findings] == ["rule file not found"]
    assert [r.rule_id for r in read_rules([good], PARIS).rules] == ["one"]
