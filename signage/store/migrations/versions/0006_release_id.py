"""Each play and heartbeat names the fleet release the screen was running (``<group>#<number>``).

Revision ID: 0006_release_id
Revises: 0005_occupancy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.syncseq import drop_sync_seq, install_sync_seq

revision = "0006_release_id"
down_revision = "0005_occupancy"
branch_labels = None
depends_on = None

TABLES = ("play", "heartbeat")


def upgrade() -> None:
    # A nullable column with no default is a plain ALTER TABLE ADD COLUMN on SQLite too: the table is
    # not rebuilt, so its sync_seq triggers stay in place.
    for table in TABLES:
        op.add_column(table, sa.Column("release_id", sa.String(80), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("release_id")
        if bind.dialect.name == "sqlite":
            # SQLite's batch mode rebuilds the table, which drops its triggers: put them back.
            drop_sync_seq(bind, table)
            install_sync_seq(bind, table)
