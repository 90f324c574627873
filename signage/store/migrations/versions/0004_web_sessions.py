"""Server-side dashboard sessions (the cookie holds a random id; this table its SHA-256).

Revision ID: 0004_web_sessions
Revises: 0003_catalog_status
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.types import UTCDateTime

revision = "0004_web_sessions"
down_revision = "0003_catalog_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "username",
            sa.String(64),
            sa.ForeignKey("web_user.username", ondelete="CASCADE", name="fk_web_session_username"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("idle_expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_web_session_username", "web_session", ["username"])


def downgrade() -> None:
    op.drop_index("ix_web_session_username", "web_session")
    op.drop_table("web_session")
