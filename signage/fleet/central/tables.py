"""The central registry's tables (SQLAlchemy Core, their own MetaData, migrated by ``migrations/``).

Every name starts with ``fleet_`` so the registry can share a database with the rows that
``signage sync`` ships (``play``, ``heartbeat``, ...). Releases are immutable: the code has no UPDATE
of ``fleet_release`` or ``fleet_release_file``, and on PostgreSQL a trigger refuses one.
"""

from __future__ import annotations

import sqlalchemy as sa

from signage.store.types import UTCDateTime

metadata = sa.MetaData()

NAME = 64  # protocol.NAME_RE: screen, store and group names are at most 64 characters

store = sa.Table(
    "fleet_store",
    metadata,
    sa.Column("store_id", sa.String(NAME), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # protocol.StoreHours.to_json(); NULL: always open.
    sa.Column("hours", sa.JSON(), nullable=True),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
    # Set by `signage fleet stores remove` (no active screen left); adding the id again clears it.
    sa.Column("removed_utc", UTCDateTime(), nullable=True),
)

screen = sa.Table(
    "fleet_screen",
    metadata,
    sa.Column("screen_id", sa.String(NAME), primary_key=True),
    sa.Column("store_id", sa.String(NAME), sa.ForeignKey("fleet_store.store_id"), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=True),  # NULL: the store's
    sa.Column("tags", sa.JSON(), nullable=False),  # {"region": "north", ...}
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
    sa.Column("removed_utc", UTCDateTime(), nullable=True),
)

group = sa.Table(
    "fleet_group",
    metadata,
    sa.Column("name", sa.String(NAME), primary_key=True),
    # {"region": "north"}: every screen whose tags include all of these; {}: every screen;
    # NULL: only the listed members.
    sa.Column("selector", sa.JSON(), nullable=True),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
    # Set by `signage fleet groups remove --force`: no screen, no publish; its releases kept for audit.
    sa.Column("removed_utc", UTCDateTime(), nullable=True),
)

group_member = sa.Table(
    "fleet_group_member",
    metadata,
    sa.Column("group_name", sa.String(NAME), sa.ForeignKey("fleet_group.name"), primary_key=True),
    sa.Column("screen_id", sa.String(NAME), sa.ForeignKey("fleet_screen.screen_id"), primary_key=True),
)

blob = sa.Table(
    "fleet_blob",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
)

release = sa.Table(
    "fleet_release",
    metadata,
    sa.Column("group_name", sa.String(NAME), sa.ForeignKey("fleet_group.name"), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    # Orders publishes across groups ("the last publish wins"), whatever the clocks say.
    sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
    sa.Column("manifest", sa.JSON(), nullable=False),  # {"files": [ReleaseFile.to_json(), ...]}
    sa.Column("note", sa.String(500), nullable=False),  # where it came from, for `releases list`
)

# One row per file of a release: which blobs a screen may fetch (the manifest's index).
release_file = sa.Table(
    "fleet_release_file",
    metadata,
    sa.Column("group_name", sa.String(NAME), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    sa.Column("path", sa.String(300), primary_key=True),
    # Not a foreign key: `signage fleet gc` may delete the blob of an old release (fleet_release_collected).
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.ForeignKeyConstraint(["group_name", "number"], ["fleet_release.group_name", "fleet_release.number"]),
)

alert = sa.Table(
    "fleet_alert",
    metadata,
    sa.Column("alert_id", sa.String(32), primary_key=True),
    sa.Column("group_name", sa.String(NAME), sa.ForeignKey("fleet_group.name"), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("media_path", sa.String(300), nullable=True),
    sa.Column("media_sha256", sa.String(64), nullable=True, index=True),  # a fleet_blob while active
    sa.Column("media_size", sa.BigInteger(), nullable=True),
    sa.Column("created_utc", UTCDateTime(), nullable=False),
    sa.Column("until_utc", UTCDateTime(), nullable=True),
    sa.Column("cleared_utc", UTCDateTime(), nullable=True),
)

# A release whose blobs `signage fleet gc` deleted (migration 0004): it stays, for audit, but can no
# longer be published again.
release_collected = sa.Table(
    "fleet_release_collected",
    metadata,
    sa.Column("group_name", sa.String(NAME), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    sa.Column("collected_utc", UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(["group_name", "number"], ["fleet_release.group_name", "fleet_release.number"]),
)
