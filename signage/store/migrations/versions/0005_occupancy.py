"""Where people stand: per screen, UTC hour, player run and 1 m floor cell, counts only.

Revision ID: 0005_occupancy
Revises: 0004_web_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.syncseq import drop_sync_seq, install_sync_seq
from signage.store.types import UTCDateTime

revision = "0005_occupancy"
down_revision = "0004_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occupancy",
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("hour", UTCDateTime(), primary_key=True),
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("cell_x", sa.Integer(), primary_key=True),
        sa.Column("cell_y", sa.Integer(), primary_key=True),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("person_s", sa.Float(), nullable=False),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_occupancy_sync_seq", "occupancy", ["sync_seq"])
    install_sync_seq(op.get_bind(), "occupancy")


def downgrade() -> None:
    drop_sync_seq(op.get_bind(), "occupancy")
    op.drop_index("ix_occupancy_sync_seq", "occupancy")
    op.drop_table("occupancy")
