"""What the loop relies on from its play store, held by the fake (``FakePlaySink``) and the real writer.

Each case runs against both: a loop test on the fake then says something about production. Each
implementation is read back through its own window (the fake's memory, the writer's SQLite rows),
and through ``recent_plays``, the history the loop itself reads.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from signage.domain import Play, PlayOutcome
from signage.store import StoreWriter
from signage.store.base import PlaySink
from signage.store.engine import make_engine
from signage.store.fake import FakePlaySink
from signage.store.models import PLAY, row_to_play
from signage.testing.sample_plays import T0, sample_play


@dataclass
class Store:
    """One implementation under test, and how to read back what it stored."""

    sink: PlaySink
    stored: Callable[[], dict[str, Play]]  # play id -> the play as stored (after a flush)


def _fake() -> Iterator[Store]:
    sink = FakePlaySink(screen_id="screen-1")
    yield Store(sink, lambda: dict(sink.plays))
    sink.close()


def _sqlite(path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{path}")
    writer = StoreWriter(engine, screen_id="screen-1", retry_base_s=0.01, retry_cap_s=0.05).start()

    def stored() -> dict[str, Play]:
        assert writer.flush(10)
        with engine.connect() as conn:
            return {str(r.play_id): row_to_play(r) for r in conn.execute(sa.select(PLAY))}

    yield Store(writer, stored)
    writer.close()
    engine.dispose()


@pytest.fixture(params=["fake", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from (_fake() if request.param == "fake" else _sqlite(tmp_path / "plays.db"))


def opened(play: Play) -> Play:
    return replace(play, ended_at=None, outcome=None, actual_s=0.0)


def test_a_started_play_is_stored_open_and_is_history_at_once(store: Store) -> None:
    play = sample_play(0)
    store.sink.play_started(opened(play))
    history = store.sink.recent_plays(T0)  # before any flush: the loop's caps must see it already
    assert [(r.ad_id, r.campaign, r.started_at) for r in history] == [
        (play.ad_id, play.campaign, play.started_at)
    ]
    assert store.stored() == {play.play_id: opened(play)}


def test_play_ended_is_recorded_once_as_the_ended_version(store: Store) -> None:
    play = sample_play(1)
    store.sink.play_started(opened(play))
    store.sink.play_ended(play)
    assert store.stored() == {play.play_id: play}
    assert len(store.sink.recent_plays(T0)) == 1


def test_an_end_reported_twice_keeps_one_play_the_last_version(store: Store) -> None:
    play = sample_play(2)
    store.sink.play_started(opened(play))
    store.sink.play_ended(play)
    again = replace(play, actual_s=7.5, ended_at=play.started_at + timedelta(seconds=7.5))
    store.sink.play_ended(again)
    assert store.stored() == {play.play_id: again}
    assert len(store.sink.recent_plays(T0)) == 1


def test_an_interrupted_play_keeps_its_outcome_and_reason(store: Store) -> None:
    play = sample_play(3)
    cut = replace(
        play,
        ended_at=play.started_at + timedelta(seconds=3),
        actual_s=3.0,
        outcome=PlayOutcome.INTERRUPTED,
        reason="the player was stopped.",
    )
    store.sink.play_started(opened(play))
    store.sink.play_ended(cut)
    stored = store.stored()[play.play_id]
    assert stored.outcome is PlayOutcome.INTERRUPTED and stored.reason == "the player was stopped."
    assert stored.actual_s == 3.0 and stored.ended_at == cut.ended_at


def test_history_is_read_back_in_start_order_from_since_inclusive(store: Store) -> None:
    plays = [sample_play(i) for i in range(8)]
    shuffled = plays[:]
    random.Random(4).shuffle(shuffled)
    for play in shuffled:
        store.sink.play_started(opened(play))
        store.sink.play_ended(play)
    assert store.sink.flush(10)
    since = plays[3].started_at  # a play that started exactly then is in the window
    history = store.sink.recent_plays(since)
    assert [(r.ad_id, r.started_at) for r in history] == [(p.ad_id, p.started_at) for p in plays[3:]]
    assert store.sink.recent_plays(plays[-1].started_at + timedelta(seconds=1)) == []


def test_flush_says_everything_queued_is_committed(store: Store) -> None:
    plays = [sample_play(i) for i in range(20)]
    for play in plays:
        store.sink.play_ended(play)  # an end without a start (a start lost to a crash) is still a play
    assert store.sink.flush(10)
    assert store.stored() == {p.play_id: p for p in plays}


def test_a_play_the_store_refuses_is_reported_and_dropped_never_raised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    good = sample_play(0)
    store.sink.play_started(opened(sample_play(1, play_id="not-a-uuid")))  # the loop must go on
    store.sink.play_ended(good)
    assert "proof of play not recorded: " in caplog.text and "'not-a-uuid'" in caplog.text
    assert store.stored() == {good.play_id: good}
    assert [r.ad_id for r in store.sink.recent_plays(T0)] == [good.ad_id]


def test_history_holds_only_the_store_screens_plays(store: Store) -> None:
    ours, theirs = sample_play(0), sample_play(1, screen_id="screen-2")  # a shared database
    store.sink.play_ended(ours)
    store.sink.play_ended(theirs)
    assert store.sink.flush(10)
    assert store.stored() == {ours.play_id: ours, theirs.play_id: theirs}
    assert [(r.ad_id, r.started_at) for r in store.sink.recent_plays(T0)] == [(ours.ad_id, ours.started_at)]
