"""Each screen's latest heartbeat (POST /fleet/v1/heartbeat): release, camera, disk, plays, power.

Revision ID: 0002_screen_status
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.types import UTCDateTime

revision = "0002_screen_status"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fleet_screen_status",
        sa.Column(
            "screen_id",
            sa.String(64),
            sa.ForeignKey("fleet_screen.screen_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("received_utc", UTCDateTime(), nullable=False),
        sa.Column("sent_utc", UTCDateTime(), nullable=False),
        sa.Column("release_id", sa.String(80), nullable=True),
        sa.Column("camera_online", sa.Boolean(), nullable=False),
        sa.Column("camera_covered", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("playing_ad_id", sa.String(128), nullable=True),
        sa.Column("plays_last_hour", sa.Integer(), nullable=False),
        sa.Column("power", sa.String(8), nullable=False),
        sa.CheckConstraint("power IN ('on', 'off')", name="ck_fleet_screen_status_power"),
    )


def downgrade() -> None:
    op.drop_table("fleet_screen_status")
