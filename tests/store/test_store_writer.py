"""The store writer on SQLite: batching, coalescing, crash repair, failures (the journal: test_store_journal)."""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from signage.domain import PlayOutcome
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.models import HEARTBEAT, PLAY, row_to_heartbeat, row_to_play
from signage.store.repair import CRASH_REASON, repaired_end
from signage.store.sql import retry_delay_s
from signage.testing.full_disk import SqliteFullDisk
from signage.testing.sample_plays import T0
from signage.testing.sample_plays import sample_play as make_play


def sink_for(path: Path, **kwargs: Any) -> StoreWriter:
    kwargs.setdefault("screen_id", "screen-1")
    kwargs.setdefault("retry_base_s", 0.01)
    kwargs.setdefault("retry_cap_s", 0.05)
    return StoreWriter(make_engine(f"sqlite:///{path}"), **kwargs)


def all_plays(sink: StoreWriter) -> dict[str, Any]:
    with sink.engine.connect() as conn:
        return {str(r.play_id): row_to_play(r) for r in conn.execute(sa.select(PLAY))}


def test_a_play_round_trips_with_utc_times_and_wal_mode(tmp_path: Path) -> None:
    sink = sink_for(tmp_path / "s.db").start()
    play = make_play(3)
    sink.play_started(replace(play, ended_at=None, outcome=None, actual_s=0.0))
    sink.play_ended(play)
    assert sink.flush(10)
    stored = all_plays(sink)
    assert stored == {play.play_id: play}
    assert stored[play.play_id].started_at.tzinfo is not None
    with sink.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    sink.close()


def test_plays_queued_together_are_committed_in_batches(tmp_path: Path) -> None:
    sink = sink_for(tmp_path / "s.db", batch_max=1000)
    upgrade(sink.engine)
    batches: list[int] = []

    @sa.event.listens_for(sink.engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO play"):
            batches.append(len(params) if executemany else 1)

    plays = [make_play(i) for i in range(2500)]
    for play in plays:  # queued before the writer starts, so the batch sizes are exact
        sink.play_started(replace(play, ended_at=None, outcome=None))
        sink.play_ended(play)  # supersedes the start in the buffer: one row write per play
    sink.start()
    assert sink.flush(30)
    assert batches == [1000, 1000, 500]
    assert len(all_plays(sink)) == 2500
    assert sink.stats().written == 2500
    sink.close()


def test_recent_plays_merge_the_database_and_the_unwritten_buffer(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = sink_for(path).start()
    old, written = make_play(0), make_play(5)
    first.play_ended(old)
    first.play_ended(written)
    first.close()
    engine = make_engine(f"sqlite:///{path}", sqlite_busy_timeout_ms=20)
    second = StoreWriter(engine, screen_id="screen-1", retry_base_s=0.01, retry_cap_s=0.05).start()
    assert second.flush(10)
    # Another process holds the write lock: the queued play stays in memory, readers still read (WAL).
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")
        queued = make_play(9)
        second.play_started(queued)
        got = second.recent_plays(T0 + timedelta(seconds=30))
        assert second.stats().pending == 1  # the play came from the buffer, not the database
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    assert [(r.ad_id, r.started_at) for r in got] == [
        (written.ad_id, written.started_at),
        (queued.ad_id, queued.started_at),
    ]
    second.close()
    engine.dispose()


def test_crash_repair_closes_only_this_screens_open_plays(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    crashed = sink_for(path).start()
    mine, done, other = (
        make_play(1, ended=False),
        make_play(2),
        make_play(3, ended=False, screen_id="screen-2"),
    )
    for play in (mine, done, other):
        crashed.play_started(play)
    crashed.write_heartbeat(Heartbeat("screen-1", "store-1", mine.started_at + timedelta(seconds=3)))
    assert crashed.flush(10)
    # The crashed writer is never closed, as after a crash (a real kill -9: test_store_journal).

    restarted = sink_for(path).start()
    assert restarted.flush(10)
    plays = all_plays(restarted)
    repaired = plays[mine.play_id]
    assert repaired.outcome == PlayOutcome.INTERRUPTED
    assert repaired.reason == CRASH_REASON
    assert repaired.actual_s == pytest.approx(3.0)
    assert repaired.ended_at == mine.started_at + timedelta(seconds=3)
    assert plays[done.play_id] == done
    assert plays[other.play_id].ended_at is None  # another screen may be showing it right now
    assert restarted.stats().repaired == 1
    restarted.close()


def test_repaired_end_never_overstates_a_play() -> None:
    planned = 8.0
    assert repaired_end(T0, planned, None) == T0
    assert repaired_end(T0, planned, T0 - timedelta(seconds=5)) == T0
    assert repaired_end(T0, planned, T0 + timedelta(seconds=2)) == T0 + timedelta(seconds=2)
    assert repaired_end(T0, planned, T0 + timedelta(hours=1)) == T0 + timedelta(seconds=8)


def test_a_full_database_is_reported_once_keeps_the_plays_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = sink_for(tmp_path / "s.db")
    upgrade(sink.engine)
    disk = SqliteFullDisk(sink.engine)  # full: not one page more
    caplog.set_level(logging.INFO, logger="signage.store")
    sink.start()
    plays = [make_play(i) for i in range(300)]
    for play in plays:
        sink.play_ended(play)  # returns at once: playback never waits for the database
    assert not sink.flush(0.5)
    stats = sink.stats()
    assert stats.failing and stats.pending == 300 and stats.written == 0
    failures = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(failures) == 1 and "full" in failures[0].getMessage()

    disk.free()  # the operator frees some space
    assert sink.flush(10)
    assert set(all_plays(sink)) == {p.play_id for p in plays}
    assert not sink.stats().failing
    assert sum("again after" in r.getMessage() for r in caplog.records) == 1
    sink.close()


def test_a_row_the_database_refuses_is_reported_and_the_rest_are_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = sink_for(tmp_path / "s.db")
    good = [make_play(i) for i in range(4)]
    bad = replace(make_play(9), planned_s=math.nan)  # SQLite stores NaN as NULL: NOT NULL fails
    for play in (good[0], good[1], bad, good[2], good[3]):
        sink.play_ended(play)
    sink.start()
    assert sink.flush(10)
    assert set(all_plays(sink)) == {p.play_id for p in good}
    assert sink.stats().rejected == 1
    assert any(bad.play_id in r.getMessage() for r in caplog.records)
    sink.close()


def test_a_play_with_a_bad_id_is_reported_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = sink_for(tmp_path / "s.db")
    sink.play_started(make_play(0, play_id="not-a-uuid"))
    assert sink.stats().rejected == 1 and sink.stats().pending == 0
    assert "'not-a-uuid' of ad 'ad-0' is not a UUID" in caplog.text


def test_the_heartbeat_keeps_only_the_latest_status(tmp_path: Path) -> None:
    sink = sink_for(tmp_path / "s.db")
    for i in range(5):
        sink.write_heartbeat(
            Heartbeat(
                "screen-1",
                "store-1",
                T0 + timedelta(seconds=i),
                playing_ad_id=f"ad-{i}",
                camera_online=i % 2 == 0,
            )
        )
    sink.start()
    assert sink.flush(10)
    with sink.engine.connect() as conn:
        rows = [row_to_heartbeat(r) for r in conn.execute(sa.select(HEARTBEAT))]
    assert rows == [
        Heartbeat("screen-1", "store-1", T0 + timedelta(seconds=4), playing_ad_id="ad-4", camera_online=True)
    ]
    sink.close()


def test_retry_delay_grows_and_is_capped() -> None:
    assert [retry_delay_s(a, 0.5, 4.0) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
