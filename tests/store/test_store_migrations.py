"""Migrations from an empty database, their match with the models, and the sync_seq triggers."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from signage.store.engine import make_engine
from signage.store.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from signage.store.models import HEARTBEAT, PLAY, SYNC_STATE


def schema_of(engine: sa.Engine, table: sa.Table) -> tuple[dict[str, bool], set[str], list[str]]:
    inspector = sa.inspect(engine)
    columns = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
    indexes = {str(i["name"]) for i in inspector.get_indexes(table.name)}
    return columns, indexes, inspector.get_pk_constraint(table.name)["constrained_columns"]


def check_matches_models(engine: sa.Engine) -> None:
    for table in (PLAY, HEARTBEAT, SYNC_STATE):
        columns, indexes, pk = schema_of(engine, table)
        assert columns == {c.name: (c.nullable and not c.primary_key) for c in table.columns}, table.name
        assert indexes == {i.name for i in table.indexes}, table.name
        assert pk == [c.name for c in table.primary_key.columns], table.name


def test_first_revision_is_the_root_and_has_the_agreed_id() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert [r.revision for r in script.walk_revisions() if r.down_revision is None] == ["0001_plays"]
    assert len(script.get_heads()) == 1


def test_upgrade_from_empty_creates_the_model_schema_and_downgrade_removes_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    check_matches_models(engine)
    upgrade(engine)  # a second start-up is a no-op
    downgrade(engine, "base")
    tables = set(sa.inspect(engine).get_table_names())
    assert not tables & {"play", "heartbeat", "sync_state"}


def test_sync_seq_follows_commit_order_on_insert_and_update(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0001_plays")
    beat = "INSERT INTO heartbeat VALUES (:s, 'st', '2026-01-01 00:00:00', NULL, NULL, 0, 1, '', '', NULL)"
    with engine.begin() as conn:
        conn.execute(sa.text(beat), [{"s": "a"}, {"s": "b"}])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE heartbeat SET camera_online = 1 WHERE screen_id = 'a'"))
        conn.execute(sa.text(beat), {"s": "c"})
    with engine.connect() as conn:
        seqs: dict[str, int] = dict(conn.execute(sa.text("SELECT screen_id, sync_seq FROM heartbeat")).all())
    assert seqs == {"b": 2, "a": 3, "c": 4}


def test_release_id_columns_come_and_go_with_0006_and_the_triggers_survive(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0006_release_id")
    for table in (PLAY, HEARTBEAT):
        assert schema_of(engine, table)[0]["release_id"] is True, table.name
    downgrade(engine, "0005_occupancy")
    assert "release_id" not in schema_of(engine, HEARTBEAT)[0]
    beat = "INSERT INTO heartbeat VALUES (:s, 'st', '2026-01-01 00:00:00', NULL, NULL, 0, 1, '', '', NULL, 1, '')"
    with engine.begin() as conn:
        conn.execute(sa.text(beat), [{"s": "a"}, {"s": "b"}])
        seqs: dict[str, int] = dict(conn.execute(sa.text("SELECT screen_id, sync_seq FROM heartbeat")).all())
    assert seqs == {"a": 1, "b": 2}
    engine.dispose()
