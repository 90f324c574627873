"""The running release's id: read from <data_dir>/fleet/current/release.json, stamped into plays and beats."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from signage.clock import FakeClock
from signage.domain import Ad, AudienceSnapshot, Catalog, MediaKind
from signage.fleet.protocol import Release, ReleaseFile
from signage.fleet.release_id import CurrentRelease, current_release, release_file
from signage.loop import LoopConfig, SlotLoop
from signage.playback.fake import FakePlayer
from signage.settings import PolicySettings
from signage.status import HeartbeatObserver
from signage.store.fake import FakePlaySink
from signage.targeting.programme import Programme

SHA = "0" * 64


def write_release(slot: Path, group: str, number: int) -> None:
    slot.mkdir(parents=True, exist_ok=True)
    release = Release(
        group, number, datetime(2026, 11, 1, tzinfo=UTC), (ReleaseFile("catalog.yaml", SHA, 1),)
    )
    (slot / "release.json").write_text(json.dumps(release.to_json()))


def point_current(data_dir: Path, slot: str) -> None:
    link = data_dir / "fleet" / "current"
    tmp = data_dir / "fleet" / "current.tmp"
    tmp.symlink_to(data_dir / "fleet" / "slots" / slot)
    os.replace(tmp, link)


def test_the_id_follows_the_current_link_and_a_missing_or_bad_file_is_none(tmp_path: Path) -> None:
    source = current_release(tmp_path)
    assert source.path == release_file(tmp_path) and source() is None
    write_release(tmp_path / "fleet" / "slots" / "a", "north", 3)
    write_release(tmp_path / "fleet" / "slots" / "b", "north", 4)
    point_current(tmp_path, "a")
    assert source() == "north#3"
    point_current(tmp_path, "b")  # the agent's atomic swap
    assert source() == "north#4"
    (tmp_path / "fleet" / "slots" / "b" / "release.json").write_text("{not json")
    assert source() is None
    (tmp_path / "fleet" / "slots" / "b" / "release.json").write_text(json.dumps({"release_id": "a/b#x"}))
    assert source() is None
    point_current(tmp_path, "a")
    assert source() == "north#3"


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_release(tmp_path / "slot", "south", 9)
    source = CurrentRelease(tmp_path / "slot" / "release.json")
    assert source() == "south#9"
    reads: list[Path] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    assert [source() for _ in range(5)] == ["south#9"] * 5
    assert reads == []


def test_plays_and_heartbeats_carry_the_release_on_screen(tmp_path: Path) -> None:
    media = tmp_path / "a.mp4"
    media.write_bytes(b"x")
    clock = FakeClock(start_utc=datetime(2026, 11, 21, 9, tzinfo=UTC))
    sink = FakePlaySink()
    release = {"id": "north#3"}

    def release_id() -> str | None:
        return release["id"]

    beat = HeartbeatObserver(
        sink, screen_id="s1", store_id="st", camera_online=lambda: True, rules_status=lambda: (True, ""),
        now_utc=clock.now_utc, monotonic=clock.monotonic, release_id=release_id,
    )  # fmt: skip
    ad = Ad("a", media, MediaKind.VIDEO, 5.0, "adv", "camp")
    programme = Programme(Catalog((ad,)), PolicySettings(), ZoneInfo("UTC"), random.Random(1))
    loop = SlotLoop(
        LoopConfig(screen_id="s1"), FakePlayer(clock.monotonic), sink,
        lambda: AudienceSnapshot.unknown(), programme.decide, clock, [beat], release_id=release_id,
    )  # fmt: skip
    for _ in range(60):  # 6 s: the first play ends, the second starts under a new release
        if clock.monotonic() >= 1003.0:
            release["id"] = "north#4"
        loop.step()
        clock.advance(0.1)
    plays = sorted(sink.plays.values(), key=lambda p: p.started_at)
    assert [p.release_id for p in plays] == ["north#3", "north#4"]
    assert sink.heartbeats[0].release_id == "north#3" and sink.heartbeats[-1].release_id == "north#4"
