"""Fixtures for the report tests (helpers live in report_data.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from report_data import GeneratedDb, generate, new_engine

from signage.store.engine import make_engine
from signage.store.migrate import upgrade


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDb:
    engine = new_engine(tmp_path_factory.mktemp("reports") / "gen.db")
    return generate(engine)


@pytest.fixture(scope="module")
def generated_pg(postgres_schema: Callable[[str], AbstractContextManager[str]]) -> Iterator[GeneratedDb]:
    """The same generated plays in a throwaway schema on the test PostgreSQL server."""
    with postgres_schema("test_reports") as schema_url:
        engine = make_engine(schema_url)
        upgrade(engine)
        yield generate(engine)
        engine.dispose()
