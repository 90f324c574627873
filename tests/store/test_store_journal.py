"""The store's journal: nothing the player stores is lost while the database is away, full, or the
player is killed; what cannot be kept anywhere is counted and reported."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from signage.domain import PlayOutcome
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.journal import Journal, Record, read_segment, record_from_line, record_to_line
from signage.store.migrate import upgrade
from signage.store.models import HEARTBEAT, PLAY, play_values, row_to_play
from signage.store.progress import Progress, ProgressFile
from signage.testing.full_disk import SqliteFullDisk
from signage.testing.sample_plays import T0
from signage.testing.sample_plays import sample_play as make_play

AWAY_URL = "postgresql+psycopg://signage@127.0.0.1:9/away?connect_timeout=1"  # nothing listens there
REPO = Path(__file__).resolve().parents[2]


def writer(url: str, journal_dir: Path, **kwargs: Any) -> StoreWriter:
    kwargs.setdefault("screen_id", "screen-1")
    kwargs.setdefault("retry_base_s", 0.01)
    kwargs.setdefault("retry_cap_s", 0.05)
    return StoreWriter(make_engine(url), journal=Journal(journal_dir), **kwargs)


def stored_plays(url: str) -> dict[str, Any]:
    with make_engine(url).connect() as conn:
        return {str(r.play_id): row_to_play(r) for r in conn.execute(sa.select(PLAY))}


def records_in(directory: Path) -> int:
    return sum(1 for p in directory.glob("segment-*.jsonl") for _ in read_segment(p))


def test_a_record_survives_the_journal_line_format() -> None:
    play = make_play(4)
    record = Record("play", play.play_id, {"play": (play_values(play),)})
    again = record_from_line(record_to_line(record))
    assert again.kind == "play" and again.key == play.play_id
    assert dict(again.rows["play"][0]) == play_values(play)


def test_while_the_database_keeps_up_the_journal_stays_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    sink = writer(url, tmp_path / "journal").start()
    for i in range(20):
        sink.play_ended(make_play(i))
    assert sink.flush(10)
    assert records_in(tmp_path / "journal") == 0
    sink.close()
    assert len(stored_plays(url)) == 20


def test_a_database_away_until_a_normal_stop_loses_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    away = writer(AWAY_URL, journal).start()
    plays = [make_play(i) for i in range(7)]
    for play in plays:
        away.play_started(replace(play, ended_at=None, outcome=None, actual_s=0.0))
        away.play_ended(play)
    away.write_heartbeat(Heartbeat("screen-1", "store-1", T0))
    assert not away.flush(0.3)
    away.close(timeout_s=0.2)
    assert away.stats().lost == 0

    url = f"sqlite:///{tmp_path / 's.db'}"
    later = writer(url, journal).start()
    assert later.flush(10)
    assert stored_plays(url) == {p.play_id: p for p in plays}
    with later.engine.connect() as conn:
        assert conn.execute(sa.select(HEARTBEAT.c.screen_id)).scalars().all() == ["screen-1"]
    assert later.stats().replayed == 8  # 7 plays (start and end coalesced) and the heartbeat
    later.close()
    assert not list(journal.glob("segment-*.jsonl"))


def test_records_that_leave_a_full_buffer_come_back_from_the_journal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    sink = writer(url, tmp_path / "journal", max_pending=100)
    upgrade(sink.engine)
    disk = SqliteFullDisk(sink.engine)  # full: not one page more
    sink.start()
    plays = [make_play(i) for i in range(300)]
    for play in plays:
        sink.play_ended(play)
    assert sink.stats().pending == 100  # the 200 oldest are in the journal only
    assert not sink.flush(0.3)

    disk.free()  # the disk has room again
    assert sink.flush(10)
    assert set(stored_plays(url)) == {p.play_id for p in plays}
    assert sink.stats().lost == 0
    sink.close()


def test_flush_waits_for_the_journal_replay_as_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once memory is written, the overflow still sits in a sealed journal segment: flush() must not
    say 'all committed' until that segment is written too."""
    import threading

    from signage.store import writer as writer_module

    url = f"sqlite:///{tmp_path / 's.db'}"
    sink = writer(url, tmp_path / "journal", max_pending=10)
    upgrade(sink.engine)
    disk = SqliteFullDisk(sink.engine)  # full: not one page more
    sink.start()
    plays = [make_play(i) for i in range(40)]
    for play in plays:
        sink.play_ended(play)
    assert not sink.flush(0.3)  # the disk is full: 30 plays are in the journal only

    replay_started, release = threading.Event(), threading.Event()
    real_batches = writer_module.replay_batches

    def held_batches(segment: Path, batch_max: int) -> Any:
        replay_started.set()
        release.wait(30)
        yield from real_batches(segment, batch_max)

    monkeypatch.setattr(writer_module, "replay_batches", held_batches)
    disk.free()  # the disk has room again
    assert replay_started.wait(30)  # memory is written; the sealed segment's replay is held
    assert not sink.flush(0.5)
    release.set()
    assert sink.flush(10)
    assert set(stored_plays(url)) == {p.play_id for p in plays}
    sink.close()


def test_when_neither_the_journal_nor_memory_can_hold_a_record_it_is_counted_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    stuck = writer(AWAY_URL, blocker / "journal", max_pending=2).start()
    for i in range(5):
        stuck.play_started(make_play(i))
    assert stuck.stats().lost == 3
    assert "LOST" in caplog.text
    stuck.close(timeout_s=0.1)
    assert stuck.stats().lost == 5  # the two still in memory when it stopped


def test_a_journal_freed_while_the_database_is_away_takes_the_records_from_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("")  # the journal's folder cannot be created: like a full disk
    stuck = writer(AWAY_URL, blocker / "journal").start()
    plays = [make_play(i) for i in range(3)]
    for play in plays:
        stuck.play_ended(play)
    blocker.unlink()  # the operator frees the disk; the writer retries the journal while it waits
    deadline = 50
    while records_in(blocker / "journal") < 3 and deadline:
        stuck.flush(0.1)
        deadline -= 1
    stuck.close(timeout_s=0.1)
    assert stuck.stats().lost == 0
    assert records_in(blocker / "journal") == 3


def test_a_record_the_database_refuses_does_not_block_the_replay(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    away = writer(AWAY_URL, journal).start()
    good = make_play(1)
    bad = replace(make_play(2), planned_s=float("nan"))  # SQLite stores NaN as NULL: NOT NULL fails
    away.play_ended(bad)
    away.play_ended(good)
    away.close(timeout_s=0.1)

    url = f"sqlite:///{tmp_path / 's.db'}"
    later = writer(url, journal).start()
    assert later.flush(10)
    assert set(stored_plays(url)) == {good.play_id}
    assert later.stats().rejected == 1
    later.close()


_KILLED = textwrap.dedent(
    """
    import sys, time
    from dataclasses import replace
    from pathlib import Path
    from signage.store.engine import make_engine
    from signage.store.journal import Journal
    from signage.testing.sample_plays import sample_play
    from signage.store.writer import StoreWriter

    url, journal, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    sink = StoreWriter(make_engine(url), screen_id="screen-1", journal=Journal(journal),
                       retry_base_s=0.01, retry_cap_s=0.05).start()
    for i in range(count):
        play = sample_play(i, play_id=f"00000000-0000-4000-8000-{i:012d}")
        sink.play_started(replace(play, ended_at=None, outcome=None, actual_s=0.0))
        if i < count - 1:
            sink.play_ended(play)
    print("stored", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("database_up", [True, False], ids=["database-up", "database-away"])
def test_kill_9_loses_no_record_and_repair_credits_the_progress_record(
    tmp_path: Path, database_up: bool
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    journal = tmp_path / "journal"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(  # the with closes the pipe too
        [sys.executable, "-c", _KILLED, url if database_up else AWAY_URL, str(journal), "5"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == "stored"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    last_id = "00000000-0000-4000-8000-000000000004"
    last_start = make_play(4).started_at
    ProgressFile(tmp_path / "progress").write(Progress(last_id, last_start + timedelta(seconds=5.5)))

    progress = ProgressFile(tmp_path / "progress").read()
    later = writer(url, journal, progress=progress).start()
    assert later.flush(10)
    plays = stored_plays(url)
    later.close()
    assert len(plays) == 5
    killed = plays[last_id]
    assert killed.outcome == PlayOutcome.INTERRUPTED
    assert killed.actual_s == pytest.approx(5.5)  # what the progress record saw, not ~0 s
    assert sum(p.outcome == PlayOutcome.COMPLETED for p in plays.values()) == 4


def test_a_damaged_progress_record_falls_back_on_the_heartbeat(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    record = ProgressFile(tmp_path / "progress")
    written = Progress(str(uuid.uuid4()), T0)
    record.write(written)
    assert record.read() == written
    data = bytearray((tmp_path / "progress").read_bytes())
    data[3] = ord("x") if data[3] != ord("x") else ord("y")
    (tmp_path / "progress").write_bytes(bytes(data))
    caplog.set_level(logging.WARNING)
    assert ProgressFile(tmp_path / "progress").read() is None
    assert "not usable" in caplog.text
