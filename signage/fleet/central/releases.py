"""Numbered, immutable releases: their blobs stored first, then the rows in one transaction.

The number is the group's highest plus one, taken under a row lock on the group (``SELECT ... FOR
UPDATE`` on PostgreSQL), so two publishes to one group at the same moment get two numbers, and the
primary key (group, number) refuses a duplicate whatever happens. Nothing here updates a release:
rolling back stores the old files as a new number.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from signage.fleet.central import tables as t
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.bundle import BundleFile
from signage.fleet.central.registry import RegistryError
from signage.fleet.protocol import Release, ReleaseFile


@dataclass(frozen=True)
class ReleaseRow:
    release: Release
    note: str
    seq: int


def store_blobs(blobs: BlobStore, files: Sequence[BundleFile]) -> tuple[list[ReleaseFile], int]:
    """Copy each file's content into the blob store once; the manifest entries and how many were new."""
    entries: list[ReleaseFile] = []
    copied = 0
    for item in files:
        if item.source is not None:
            stored = blobs.put_file(item.source)
        else:
            with tempfile.NamedTemporaryFile(prefix="signage-blob-", delete=False) as tmp:
                tmp.write(item.data or b"")
            try:
                stored = blobs.put_file(Path(tmp.name))
            finally:
                Path(tmp.name).unlink(missing_ok=True)
        copied += stored.copied
        entries.append(ReleaseFile(item.path, stored.sha256, stored.size))
    return entries, copied


def record_blobs(conn: Connection, entries: Iterable[ReleaseFile], now: datetime) -> None:
    """A ``fleet_blob`` row for each content not yet known (a concurrent insert is fine)."""
    rows = {e.sha256: {"sha256": e.sha256, "size": e.size, "created_utc": now} for e in entries}
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(t.blob).on_conflict_do_nothing(index_elements=["sha256"]), list(rows.values())
    )


def _lock_group(conn: Connection, group: str) -> None:
    query = (
        sa.select(t.group.c.name)
        .where(t.group.c.name == group, t.group.c.removed_utc.is_(None))
        .with_for_update()
    )
    if conn.execute(query).first() is None:
        raise RegistryError(f"no group {group!r}; add it with `signage fleet groups add`")


def insert_release(
    engine: Engine, group: str, entries: Sequence[ReleaseFile], note: str, now: datetime
) -> Release:
    """The next numbered release of ``group`` with these files (their blobs already stored)."""
    files = tuple(sorted(entries, key=lambda e: e.path))
    with engine.begin() as conn:
        _lock_group(conn, group)
        record_blobs(conn, files, now)
        last = conn.execute(
            sa.select(sa.func.max(t.release.c.number)).where(t.release.c.group_name == group)
        ).scalar_one()
        number = (last or 0) + 1
        manifest = {"files": [f.to_json() for f in files]}
        conn.execute(
            t.release.insert().values(
                group_name=group, number=number, created_utc=now, manifest=manifest, note=note[:500]
            )
        )
        conn.execute(
            t.release_file.insert(),
            [{"group_name": group, "number": number, "path": f.path, "sha256": f.sha256} for f in files],
        )
    return Release(group, number, now, files)


def _release(row: sa.Row[Any]) -> ReleaseRow:
    files = tuple(ReleaseFile.from_json(f) for f in row.manifest["files"])
    return ReleaseRow(Release(row.group_name, row.number, row.created_utc, files), row.note, row.seq)


def get_release(conn: Connection, group: str, number: int) -> ReleaseRow | None:
    query = sa.select(t.release).where(t.release.c.group_name == group, t.release.c.number == number)
    row = conn.execute(query).first()
    return _release(row) if row is not None else None


def list_releases(conn: Connection, group: str) -> list[ReleaseRow]:
    query = sa.select(t.release).where(t.release.c.group_name == group).order_by(t.release.c.number)
    return [_release(r) for r in conn.execute(query)]


def newest_release(conn: Connection, groups: Sequence[str]) -> Release | None:
    """The last release published to any of ``groups`` ("the last publish wins")."""
    if not groups:
        return None
    query = (
        sa.select(t.release)
        .where(t.release.c.group_name.in_(groups))
        .order_by(t.release.c.seq.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return _release(row).release if row is not None else None


def republish(engine: Engine, blobs: BlobStore, group: str, number: int, now: datetime) -> Release:
    """Roll back: release ``number``'s files again, under a new number."""
    with engine.connect() as conn:
        old = get_release(conn, group, number)
        collected = conn.execute(
            sa.select(t.release_collected.c.collected_utc).where(
                t.release_collected.c.group_name == group, t.release_collected.c.number == number
            )
        ).scalar_one_or_none()
    if old is None:
        raise RegistryError(
            f"group {group!r} has no release {number}; `signage fleet releases list` shows them"
        )
    if collected is not None:
        raise RegistryError(
            f"release {old.release.release_id} can no longer be published again: `signage fleet gc` "
            f"deleted its files on {collected:%Y-%m-%d}; publish its catalog and rules with --catalog instead"
        )
    missing = [f.path for f in old.release.files if not blobs.has(f.sha256)]
    if missing:
        raise RegistryError(
            f"release {old.release.release_id} cannot be restored: the blob store lacks {missing[0]}"
        )
    return insert_release(engine, group, old.release.files, f"rollback to {old.release.release_id}", now)
