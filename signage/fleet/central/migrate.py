"""Create or upgrade the central registry's schema (its own alembic history and version table)."""

from __future__ import annotations

from pathlib import Path

from signage.store.migrate import History

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "fleet_alembic_version"
# Not the store's lock (signage.store.migrate): the two histories may upgrade side by side.
REGISTRY = History(MIGRATIONS, "central registry", 5_120_101, VERSION_TABLE)

alembic_config = REGISTRY.alembic_config
head_revision = REGISTRY.head_revision
current_revision = REGISTRY.current_revision
upgrade = REGISTRY.upgrade
downgrade = REGISTRY.downgrade
