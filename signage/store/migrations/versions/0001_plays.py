"""Proof-of-play, screen heartbeats and fleet-sync bookkeeping.

Revision ID: 0001_plays
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.syncseq import drop_sync_seq, install_sync_seq
from signage.store.types import UTCDateTime

revision = "0001_plays"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "play",
        sa.Column("play_id", sa.Uuid(), primary_key=True),
        sa.Column("screen_id", sa.String(64), nullable=False),
        sa.Column("ad_id", sa.String(128), nullable=False),
        sa.Column("advertiser", sa.String(128), nullable=False),
        sa.Column("campaign", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("planned_s", sa.Float(), nullable=False),
        sa.Column("actual_s", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("audience_known", sa.Boolean(), nullable=False),
        sa.Column("present_at_start", sa.Integer(), nullable=False),
        sa.Column("watching_at_start", sa.Integer(), nullable=False),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('completed', 'interrupted', 'skipped')", name="ck_play_outcome"
        ),
    )
    op.create_index("ix_play_campaign_started_at", "play", ["campaign", "started_at"])
    op.create_index("ix_play_screen_id_started_at", "play", ["screen_id", "started_at"])
    op.create_index("ix_play_ad_id_started_at", "play", ["ad_id", "started_at"])
    op.create_index("ix_play_started_at", "play", ["started_at"])
    op.create_index("ix_play_sync_seq", "play", ["sync_seq"])

    op.create_table(
        "heartbeat",
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("playing_ad_id", sa.String(128), nullable=True),
        sa.Column("camera_online", sa.Boolean(), nullable=False),
        sa.Column("rules_valid", sa.Boolean(), nullable=False),
        sa.Column("rules_error", sa.Text(), nullable=False),
        sa.Column("app_version", sa.String(64), nullable=False),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_heartbeat_sync_seq", "heartbeat", ["sync_seq"])

    op.create_table(
        "sync_state",
        sa.Column("target", sa.String(255), primary_key=True),
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )

    bind = op.get_bind()
    install_sync_seq(bind, "play")
    install_sync_seq(bind, "heartbeat")


def downgrade() -> None:
    bind = op.get_bind()
    drop_sync_seq(bind, "heartbeat")
    drop_sync_seq(bind, "play")
    op.drop_table("sync_state")
    op.drop_table("heartbeat")
    op.drop_table("play")
