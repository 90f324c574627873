"""Blob garbage collection: releases and alerts name blobs that may be gone; collected releases marked.

``fleet_release_file.sha256`` and ``fleet_alert.media_sha256`` no longer reference ``fleet_blob``
(``signage fleet gc`` deletes the rows of blobs only old releases or ended alerts use; the releases
themselves are immutable and stay). ``fleet_release_collected`` records each release that lost a
blob so, which can then no longer be published again (``publish --from-release``).

Revision ID: 0004_blob_gc
Revises: 0003_removals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signage.store.types import UTCDateTime

revision = "0004_blob_gc"
down_revision = "0003_removals"
branch_labels = None
depends_on = None

_BLOB_REFERENCES = (("fleet_release_file", "sha256"), ("fleet_alert", "media_sha256"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # SQLite keeps them: it cannot drop an unnamed constraint
        inspector = sa.inspect(bind)
        for table, _column in _BLOB_REFERENCES:
            for fk in inspector.get_foreign_keys(table):
                name = fk.get("name")
                if fk["referred_table"] == "fleet_blob" and name:
                    op.drop_constraint(name, table, type_="foreignkey")
    op.create_table(
        "fleet_release_collected",
        sa.Column("group_name", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("collected_utc", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_name", "number"], ["fleet_release.group_name", "fleet_release.number"]
        ),
    )


def downgrade() -> None:
    op.drop_table("fleet_release_collected")
    if op.get_bind().dialect.name == "postgresql":  # refused if a collected blob is still named
        for table, column in _BLOB_REFERENCES:
            op.create_foreign_key(f"{table}_{column}_fkey", table, "fleet_blob", [column], ["sha256"])
