"""The uplink's small parts on their own: post bodies, the heartbeat's JSON, the screenshot taker."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.clock import FakeClock
from signage.domain import STANDBY_ID, AudienceSnapshot
from signage.fleet.http_target import read_token, row_bodies
from signage.fleet.protocol import ProtocolError
from signage.fleet.rowcodec import decode_rows
from signage.fleet.sync import TargetError
from signage.fleet.uplink_observer import PlayStatus, ScreenshotTaker
from signage.fleet.uplink_protocol import ScreenStatus
from signage.store.models import PLAY, play_values
from signage.testing.sample_plays import sample_play

NOW = datetime(2026, 11, 21, 9, tzinfo=UTC)


def test_a_batch_is_split_into_bodies_under_the_limit_in_order() -> None:
    rows = [play_values(sample_play(i)) for i in range(100)]
    bodies = row_bodies(PLAY, rows, limit=6000)
    assert len(bodies) > 5 and all(len(body) <= 6000 for body, _ in bodies)
    decoded = [r for body, _ in bodies for r in decode_rows(PLAY, json.loads(body)["rows"])]
    assert [r["play_id"] for r in decoded] == [r["play_id"] for r in rows]
    assert [n for _, n in bodies] == [len(json.loads(b)["rows"]) for b, _ in bodies]
    with pytest.raises(TargetError, match="above the 100 a post holds"):
        row_bodies(PLAY, rows[:1], limit=100)


def test_the_heartbeat_json_is_strict() -> None:
    beat = ScreenStatus(NOW, "north#2", True, 10**9, "ad-1", 12, "off")
    assert ScreenStatus.from_json(json.loads(json.dumps(beat.to_json()))) == beat
    cases: list[tuple[dict[str, object], str]] = [
        ({"power": "dim"}, "'power'"),
        ({"camera_online": 1}, "camera_online"),
        ({"plays_last_hour": -1}, "plays_last_hour"),
        ({"disk_free_bytes": True}, "disk_free_bytes"),
        ({"release_id": "x" * 81}, "release_id"),
        ({"sent_utc": "2026-11-21T09:00:00"}, "time zone"),
        ({"extra": 1}, "unknown field 'extra'"),
    ]
    for bad, words in cases:
        with pytest.raises(ProtocolError, match=words):
            ScreenStatus.from_json({**beat.to_json(), **bad})


def test_a_token_file_is_one_printable_word(tmp_path: Path) -> None:
    path = tmp_path / "token"
    with pytest.raises(ValueError, match="no screen token at"):
        read_token(path)
    path.write_text("  abc-DEF_123\n")
    assert read_token(path) == "abc-DEF_123"
    path.write_text("two words")
    with pytest.raises(ValueError, match="not one printable word"):
        read_token(path)


class BrokenPlayer:
    def __init__(self) -> None:
        self.calls = 0

    def screenshot(self, path: Path) -> None:
        self.calls += 1
        path.write_bytes(b"half")
        raise OSError("disk full")


def test_a_failed_screenshot_is_said_once_and_leaves_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    saved: list[Path] = []
    player = BrokenPlayer()
    taker = ScreenshotTaker(player, tmp_path / "fleet" / "screenshot.png", clock.monotonic, saved.append)
    play = sample_play(1)
    taker.play_started(play, AudienceSnapshot.unknown())
    clock.advance(2)
    taker.audience_sample(AudienceSnapshot.unknown())
    assert player.calls == 0  # nobody asked
    for _ in range(2):
        taker.request()
        taker.audience_sample(AudienceSnapshot.unknown())
    assert player.calls == 2 and saved == []
    assert list((tmp_path / "fleet").iterdir()) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "disk full" in warnings[0].getMessage()
    taker.play_ended(play, AudienceSnapshot.unknown())
    taker.request()
    taker.audience_sample(AudienceSnapshot.unknown())
    assert player.calls == 2 and taker.pending  # nothing on screen: it waits for the next item


def test_plays_in_the_last_hour_leave_standby_out() -> None:
    clock = FakeClock()
    status = PlayStatus(clock.monotonic)
    for i in range(3):
        status.play_started(sample_play(i), AudienceSnapshot.unknown())
        clock.advance(1000)
    status.play_started(replace(sample_play(9), ad_id=STANDBY_ID), AudienceSnapshot.unknown())
    assert status.playing_ad_id() == STANDBY_ID
    assert status.plays_last_hour() == 3  # 3000, 2000 and 1000 s ago: the standby slot not counted
    clock.advance(1500)
    assert status.plays_last_hour() == 2
    clock.advance(1000)
    assert status.plays_last_hour() == 1
