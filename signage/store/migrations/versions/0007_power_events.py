"""Screen power changes (``power_event``, synced) and the ``alert`` play outcome.

An emergency alert's display is a play with its own outcome, ``alert``, never billed; the play
table's outcome check learns it. On SQLite a check constraint changes only by rebuilding the
table, which drops its sync_seq triggers: they are put back.

Revision ID: 0007_power_events
Revises: 0006_release_id
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.syncseq import drop_sync_seq, install_sync_seq
from signage.store.types import UTCDateTime

revision = "0007_power_events"
down_revision = "0006_release_id"
branch_labels = None
depends_on = None

OLD_OUTCOMES = "outcome IS NULL OR outcome IN ('completed', 'interrupted', 'skipped')"
NEW_OUTCOMES = "outcome IS NULL OR outcome IN ('completed', 'interrupted', 'skipped', 'alert')"


def _play_outcomes(check: str) -> None:
    bind = op.get_bind()
    with op.batch_alter_table("play", recreate="auto") as batch:
        batch.drop_constraint("ck_play_outcome", type_="check")
        batch.create_check_constraint("ck_play_outcome", check)
    if bind.dialect.name == "sqlite":
        drop_sync_seq(bind, "play")
        install_sync_seq(bind, "play")


def upgrade() -> None:
    _play_outcomes(NEW_OUTCOMES)
    op.create_table(
        "power_event",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("screen_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("sync_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("state IN ('on', 'off')", name="ck_power_event_state"),
    )
    op.create_index("ix_power_event_screen_id_at", "power_event", ["screen_id", "at"])
    op.create_index("ix_power_event_sync_seq", "power_event", ["sync_seq"])
    install_sync_seq(op.get_bind(), "power_event")


def downgrade() -> None:
    drop_sync_seq(op.get_bind(), "power_event")
    op.drop_index("ix_power_event_sync_seq", "power_event")
    op.drop_index("ix_power_event_screen_id_at", "power_event")
    op.drop_table("power_event")
    # Earlier versions cannot hold an alert's display: those proof-of-play rows go with the outcome.
    op.execute("DELETE FROM play WHERE outcome = 'alert'")
    _play_outcomes(OLD_OUTCOMES)
