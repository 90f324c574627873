"""Throwaway PostgreSQL schemas, so tests and benchmarks share one server without touching each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_TEST_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` first (tables, alembic_version and functions land there)."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def temporary_schema(url: str, prefix: str = "signage_tmp") -> Iterator[str]:
    """Create a uniquely named schema, yield a URL that uses it, drop it (and all in it) afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield with_search_path(url, schema)
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()


def unreachable_reason(url: str) -> str | None:
    """None if ``url`` accepts a connection, else one line saying why not."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return None
    except sa.exc.SQLAlchemyError as exc:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = lines[0] if lines else type(exc).__name__
        return f"PostgreSQL at {make_url(url).render_as_string()} is unreachable ({detail})"
    finally:
        engine.dispose()
