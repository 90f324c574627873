"""Alembic environment of the central registry: always given a live connection by its ``migrate``."""

from __future__ import annotations

from alembic import context

VERSION_TABLE = "fleet_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the central migrations with signage.fleet.central.migrate, not the alembic CLI")

context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
