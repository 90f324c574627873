"""Alembic environment: always given a live connection by signage.store.migrate."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `signage db upgrade` (signage.store.migrate), not the alembic CLI"
    )

# render_as_batch lets later revisions alter columns on SQLite, which has no ALTER COLUMN.
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
