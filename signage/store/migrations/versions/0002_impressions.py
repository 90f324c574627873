"""Impressions per play and per anonymous track, dashboard accounts, the advertiser index on play.

Revision ID: 0002_impressions
Revises: 0001_plays
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.syncseq import drop_sync_seq, install_sync_seq
from signage.store.types import UTCDateTime

revision = "0002_impressions"
down_revision = "0001_plays"
branch_labels = None
depends_on = None

_BANDS = ("child", "teen", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus")


def upgrade() -> None:
    composition = [
        sa.Column(f"v_{band}_{g}", sa.Integer(), nullable=False) for band in _BANDS for g in ("f", "m")
    ]
    op.create_table(
        "impression",
        sa.Column("play_id", sa.Uuid(), primary_key=True),
        sa.Column("screen_id", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("threshold_s", sa.Float(), nullable=False),
        sa.Column("audience_known", sa.Boolean(), nullable=False),
        sa.Column("ots", sa.Integer(), nullable=False),
        sa.Column("viewers", sa.Integer(), nullable=False),
        sa.Column("attention_s", sa.Float(), nullable=False),
        sa.Column("viewer_attention_s", sa.Float(), nullable=False),
        sa.Column("dwell_s", sa.Float(), nullable=False),
        sa.Column("possible_minors", sa.Integer(), nullable=False),
        sa.Column("happy_before", sa.Integer(), nullable=False),
        sa.Column("classified_before", sa.Integer(), nullable=False),
        sa.Column("happy_during", sa.Integer(), nullable=False),
        sa.Column("classified_during", sa.Integer(), nullable=False),
        *composition,
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_impression_sync_seq", "impression", ["sync_seq"])
    op.create_table(
        "impression_track",
        sa.Column("row_id", sa.Uuid(), primary_key=True),
        sa.Column("play_id", sa.Uuid(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("dwell_s", sa.Float(), nullable=False),
        sa.Column("attention_s", sa.Float(), nullable=False),
        sa.Column("viewer", sa.Boolean(), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=True),
        sa.Column("gender", sa.String(8), nullable=True),
        sa.Column("emotion", sa.String(10), nullable=True),
        sa.Column("possible_minor", sa.Boolean(), nullable=False),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_impression_track_play_id", "impression_track", ["play_id"])
    op.create_index("ix_impression_track_sync_seq", "impression_track", ["sync_seq"])
    op.create_table(
        "web_user",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("advertiser", sa.String(128), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'advertiser')", name="ck_web_user_role"),
    )
    op.create_index("ix_play_advertiser_campaign", "play", ["advertiser", "campaign"])
    bind = op.get_bind()
    install_sync_seq(bind, "impression")
    install_sync_seq(bind, "impression_track")


def downgrade() -> None:
    bind = op.get_bind()
    drop_sync_seq(bind, "impression_track")
    drop_sync_seq(bind, "impression")
    op.drop_index("ix_play_advertiser_campaign", "play")
    op.drop_table("web_user")
    op.drop_table("impression_track")
    op.drop_table("impression")
