"""Fixtures for the dashboard tests (helpers live in web_data.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from web_data import build_db


@pytest.fixture(scope="session")
def web_engine(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    return build_db(tmp_path_factory.mktemp("web") / "web.db")
