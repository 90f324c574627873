"""Fixtures shared across test folders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from signage.testing.pgschema import temporary_schema
from signage.testing.sample_plays import postgres_test_url


@pytest.fixture(scope="session")
def postgres_schema() -> Callable[[str], AbstractContextManager[str]]:
    """A factory of throwaway schemas on the test PostgreSQL server (dropped afterwards).

    The server being down fails the test loudly, unless SIGNAGE_SKIP_POSTGRES=1 says to skip.
    """

    @contextlib.contextmanager
    def schema(prefix: str) -> Iterator[str]:
        url, why = postgres_test_url()
        if url is None:
            if why == "SIGNAGE_SKIP_POSTGRES=1":
                pytest.skip(why)
            pytest.fail(why, pytrace=False)
        with temporary_schema(url, prefix=prefix) as schema_url:
            yield schema_url

    return schema


@pytest.fixture
def pg_url(
    request: pytest.FixtureRequest, postgres_schema: Callable[[str], AbstractContextManager[str]]
) -> Iterator[str]:
    """A URL into a fresh schema, named after the test folder (test_store_..., test_fleet_...)."""
    with postgres_schema(f"test_{request.path.parent.name}") as url:
        yield url
