"""Migration 0002 matches the impression models; the store writer stores impressions idempotently."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from signage.domain import AudienceSnapshot, Emotion, Track
from signage.impressions import ImpressionAccumulator
from signage.impressions.metrics import Impression
from signage.impressions.tables import IMPRESSION, IMPRESSION_TRACK
from signage.store.engine import make_engine
from signage.store.journal import Journal
from signage.store.migrate import downgrade, upgrade
from signage.store.models import PLAY
from signage.store.writer import StoreWriter
from signage.web.users import WEB_USER

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
AWAY_URL = "postgresql+psycopg://signage@127.0.0.1:9/away?connect_timeout=1"  # nothing listens there


def test_migration_creates_the_model_schema_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    inspector = sa.inspect(engine)
    for table in (IMPRESSION, IMPRESSION_TRACK, WEB_USER, PLAY):
        columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name: (c.nullable and not c.primary_key) for c in table.columns}, table.name
        assert {i["name"] for i in inspector.get_indexes(table.name)} == {i.name for i in table.indexes}
    downgrade(engine, "0001_plays")
    assert not {"impression", "impression_track", "web_user"} & set(sa.inspect(engine).get_table_names())


def _impression(play_id: str) -> Impression:
    acc = ImpressionAccumulator(play_id, threshold_s=1.0, started_mono=0.0)
    happy = tuple(0.9 if e == Emotion.HAPPY else 0.0 for e in Emotion)
    acc.observe(
        AudienceSnapshot(
            2.0,
            True,
            (
                Track(
                    1,
                    0.0,
                    2.0,
                    2.0,
                    1.5,
                    True,
                    age_years=29,
                    age_std_years=3,
                    p_female=0.8,
                    emotion_probs=happy,
                ),
                Track(2, 1.0, 2.0, 1.0, 0.2, False),
            ),
        )
    )
    return acc.finish()


def test_writer_stores_each_impression_once_with_sync_seq(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    sink = StoreWriter(engine).start()
    play_id = str(uuid.uuid4())
    impression = _impression(play_id)
    sink.record(impression, "s1", NOW)
    sink.record(impression, "s1", NOW)  # a retry after a crash must not double count
    sink.record(_impression("not-a-uuid"), "s1", NOW)  # logged and dropped, the writer goes on
    sink.close()
    assert sink.stats().rejected == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.select(IMPRESSION)).mappings().all()
        query = sa.select(IMPRESSION_TRACK).order_by(IMPRESSION_TRACK.c.ordinal)
        tracks = conn.execute(query).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert (row["ots"], row["viewers"], row["v_25_34_f"], row["happy_during"]) == (2, 1, 1, 1)
    assert row["viewer_attention_s"] == 1.5
    assert row["sync_seq"] is not None
    assert [(t["ordinal"], t["viewer"], t["age_band"], t["gender"]) for t in tracks] == [
        (1, True, "25-34", "female"),
        (2, False, None, None),
    ]


def test_impressions_wait_in_the_journal_while_the_database_is_away(tmp_path: Path) -> None:
    away = make_engine(AWAY_URL)
    journal = Journal(tmp_path / "journal")
    sink = StoreWriter(away, journal=journal, retry_base_s=0.01, retry_cap_s=0.05).start()
    play_id = str(uuid.uuid4())
    sink.record(_impression(play_id), "s1", NOW)
    assert not sink.flush(0.3)
    sink.close(timeout_s=0.1)  # a normal stop with the database still away

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    later = StoreWriter(engine, journal=Journal(tmp_path / "journal")).start()
    assert later.flush(10)
    later.close()
    with engine.connect() as conn:
        assert conn.execute(sa.select(IMPRESSION.c.play_id)).scalars().all() == [uuid.UUID(play_id)]
        assert conn.execute(sa.select(sa.func.count()).select_from(IMPRESSION_TRACK)).scalar_one() == 2
    assert later.stats().replayed == 1 and later.stats().lost == 0
