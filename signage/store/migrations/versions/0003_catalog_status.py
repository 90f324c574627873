"""The heartbeat says whether the catalog in force is the file on disk, as it does for the rules.

Revision ID: 0003_catalog_status
Revises: 0002_impressions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_catalog_status"
down_revision = "0002_impressions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("heartbeat") as batch:
        batch.add_column(sa.Column("catalog_valid", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("catalog_error", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("heartbeat") as batch:
        batch.drop_column("catalog_error")
        batch.drop_column("catalog_valid")
