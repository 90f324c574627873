"""The central registry: stores, screens, groups, blobs, immutable releases and alerts.

Revision ID: 0001_registry
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.types import UTCDateTime

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None

_IMMUTABLE = ("fleet_release", "fleet_release_file")


def upgrade() -> None:
    op.create_table(
        "fleet_store",
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "fleet_screen",
        sa.Column("screen_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), sa.ForeignKey("fleet_store.store_id"), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
        sa.Column("removed_utc", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "fleet_group",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("selector", sa.JSON(), nullable=True),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "fleet_group_member",
        sa.Column("group_name", sa.String(64), sa.ForeignKey("fleet_group.name"), primary_key=True),
        sa.Column("screen_id", sa.String(64), sa.ForeignKey("fleet_screen.screen_id"), primary_key=True),
    )
    op.create_table(
        "fleet_blob",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "fleet_release",
        sa.Column("group_name", sa.String(64), sa.ForeignKey("fleet_group.name"), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
    )
    op.create_table(
        "fleet_release_file",
        sa.Column("group_name", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("path", sa.String(300), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("fleet_blob.sha256"), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_name", "number"], ["fleet_release.group_name", "fleet_release.number"]
        ),
    )
    op.create_index("ix_fleet_release_file_sha256", "fleet_release_file", ["sha256"])
    op.create_table(
        "fleet_alert",
        sa.Column("alert_id", sa.String(32), primary_key=True),
        sa.Column("group_name", sa.String(64), sa.ForeignKey("fleet_group.name"), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("media_path", sa.String(300), nullable=True),
        sa.Column("media_sha256", sa.String(64), sa.ForeignKey("fleet_blob.sha256"), nullable=True),
        sa.Column("media_size", sa.BigInteger(), nullable=True),
        sa.Column("created_utc", UTCDateTime(), nullable=False),
        sa.Column("until_utc", UTCDateTime(), nullable=True),
        sa.Column("cleared_utc", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_fleet_alert_media_sha256", "fleet_alert", ["media_sha256"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION fleet_release_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'fleet releases are immutable: publish a new one instead';
            END $$
            """
        )
        for table in _IMMUTABLE:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION fleet_release_immutable()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _IMMUTABLE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        op.execute("DROP FUNCTION IF EXISTS fleet_release_immutable()")
    op.drop_index("ix_fleet_alert_media_sha256", "fleet_alert")
    op.drop_table("fleet_alert")
    op.drop_index("ix_fleet_release_file_sha256", "fleet_release_file")
    for table in ("fleet_release_file", "fleet_release", "fleet_blob", "fleet_group_member"):
        op.drop_table(table)
    for table in ("fleet_group", "fleet_screen", "fleet_store"):
        op.drop_table(table)
