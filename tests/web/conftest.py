"""Fixtures for the dashboard tests (helpers live in web_data.py)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from web_data import ODD_CAMPAIGNS, add_plays, build_db

from signage.store.engine import make_engine


@pytest.fixture(scope="session")
def web_engine(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    return build_db(tmp_path_factory.mktemp("web") / "web.db")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "web.db"
    build_db(path).dispose()
    return path


@pytest.fixture
def fresh_engine(template_db: Path, tmp_path: Path) -> sa.Engine:
    """A database of its own (a copy of one built once), for tests that reset or remove accounts."""
    target = tmp_path / "web.db"
    with (
        contextlib.closing(sqlite3.connect(template_db)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    return make_engine(f"sqlite:///{target}")


@pytest.fixture(scope="session")
def odd_engine(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    engine = build_db(tmp_path_factory.mktemp("odd") / "web.db")
    for name in ODD_CAMPAIGNS:
        add_plays(engine, "acme", name, "cola", plays=2, viewers=1)
    return engine
