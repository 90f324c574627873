"""`signage db upgrade` and `signage sync` as a person types them."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from signage.cli import app
from signage.store import StoreWriter
from signage.store.engine import make_engine
from signage.testing.sample_plays import sample_play

runner = CliRunner()


def test_db_upgrade_creates_then_reports_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty to" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert "already at" in again.output


def test_sync_without_a_central_database_says_how_to_give_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sync", "--once", "--local", f"sqlite:///{tmp_path / 'l.db'}"])
    assert result.exit_code == 2
    assert "pass --central URL or set fleet.central_url" in result.output


def test_sync_refuses_a_central_database_that_is_not_postgresql(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["sync", "--once", "--central", f"sqlite:///{tmp_path / 'c.db'}", "--local", "sqlite://"]
    )
    assert result.exit_code == 2 and "must be PostgreSQL" in result.output


@pytest.mark.postgres
def test_sync_once_ships_a_local_store(tmp_path: Path, pg_url: str) -> None:
    local = f"sqlite:///{tmp_path / 'l.db'}"
    sink = StoreWriter(make_engine(local), screen_id="screen-1").start()
    for i in range(25):
        sink.play_ended(sample_play(i))
    sink.close()
    result = runner.invoke(app, ["sync", "--once", "--central", pg_url, "--local", local])
    assert result.exit_code == 0, result.output
    assert "synced 25 row(s)" in result.output
    central = sa.create_engine(pg_url)
    with central.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM play")).scalar_one() == 25
    central.dispose()


def test_sync_once_to_an_unreachable_central_fails_with_one_sentence(tmp_path: Path) -> None:
    local = f"sqlite:///{tmp_path / 'l.db'}"
    dead = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    result = runner.invoke(app, ["sync", "--once", "--central", dead, "--local", local])
    assert result.exit_code == 1
    assert "sync to postgresql+psycopg://postgres@127.0.0.1:1/nowhere failed" in result.output
