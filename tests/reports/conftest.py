"""Fixtures for the report tests (helpers live in report_data.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_data import GeneratedDb, generate, new_engine

from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.store.pgschema import temporary_schema
from signage.store.samples import postgres_test_url


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDb:
    engine = new_engine(tmp_path_factory.mktemp("reports") / "gen.db")
    return generate(engine)


@pytest.fixture(scope="module")
def generated_pg() -> Iterator[GeneratedDb]:
    """The same generated plays in a throwaway schema on the test PostgreSQL server."""
    url, why = postgres_test_url()
    if url is None:
        if why == "SIGNAGE_SKIP_POSTGRES=1":
            pytest.skip(why)
        pytest.fail(why, pytrace=False)
    with temporary_schema(url, prefix="test_reports") as schema_url:
        engine = make_engine(schema_url)
        upgrade(engine)
        yield generate(engine)
        engine.dispose()
