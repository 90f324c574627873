"""The store against the real PostgreSQL server (a throwaway schema per test)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from test_store_migrations import check_matches_models

from signage.domain import PlayOutcome
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.migrate import current_revision, head_revision
from signage.store.models import PLAY, row_to_play
from signage.testing.sample_plays import sample_play as make_play

pytestmark = pytest.mark.postgres


def test_postgres_store_migrates_batches_and_repairs(pg_url: str) -> None:
    engine = make_engine(pg_url)
    first = StoreWriter(engine, screen_id="screen-1", batch_max=200)
    plays = [make_play(i) for i in range(450)]
    for play in plays:
        first.play_started(replace(play, ended_at=None, outcome=None, actual_s=0.0))
        first.play_ended(play)
    left_open = make_play(999, ended=False)
    first.play_started(left_open)
    first.write_heartbeat(Heartbeat("screen-1", "store-1", left_open.started_at + timedelta(seconds=2)))
    first.start()
    assert first.flush(30)
    assert current_revision(engine) == head_revision()
    check_matches_models(engine)
    first.close()  # the open play stays open, as after a crash: the next start repairs it

    second = StoreWriter(engine, screen_id="screen-1").start()
    assert second.flush(30)
    with engine.connect() as conn:
        stored = {str(r.play_id): row_to_play(r) for r in conn.execute(sa.select(PLAY))}
        seqs = conn.execute(sa.text("SELECT count(DISTINCT sync_seq), count(*) FROM play")).one()
    assert {k: v for k, v in stored.items() if k != left_open.play_id} == {p.play_id: p for p in plays}
    repaired = stored[left_open.play_id]
    assert repaired.outcome == PlayOutcome.INTERRUPTED and repaired.actual_s == pytest.approx(2.0)
    assert seqs[0] == seqs[1] == 451  # every row has its own change number
    recent = second.recent_plays(plays[-1].started_at)
    assert [r.ad_id for r in recent] == [plays[-1].ad_id, left_open.ad_id]
    second.close()
    engine.dispose()
