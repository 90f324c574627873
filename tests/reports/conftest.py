"""Fixtures for the report tests (helpers live in report_data.py)."""

from __future__ import annotations

import pytest
from report_data import GeneratedDb, generate, new_engine


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDb:
    engine = new_engine(tmp_path_factory.mktemp("reports") / "gen.db")
    return generate(engine)
