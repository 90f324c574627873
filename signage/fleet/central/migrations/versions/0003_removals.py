"""Stores and groups can be removed: ``removed_utc`` (their rows stay for the history that names them).

Revision ID: 0003_removals
Revises: 0002_screen_status
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.types import UTCDateTime

revision = "0003_removals"
down_revision = "0002_screen_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("fleet_store", "fleet_group"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("removed_utc", UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in ("fleet_group", "fleet_store"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("removed_utc")
