from __future__ import annotations

from collections.abc import Iterator

import pytest

from signage.store.pgschema import temporary_schema
from signage.store.samples import postgres_test_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL into a fresh schema on the test PostgreSQL server, dropped afterwards (fails loudly if down)."""
    url, why = postgres_test_url()
    if url is None:
        if why == "SIGNAGE_SKIP_POSTGRES=1":
            pytest.skip(why)
        pytest.fail(why, pytrace=False)
    with temporary_schema(url, prefix="test_store") as schema_url:
        yield schema_url
