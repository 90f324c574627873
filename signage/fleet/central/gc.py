"""Central blob garbage collection (``signage fleet gc``, docs/fleet.md).

Kept: every blob a file of the newest ``keep_releases`` releases of each group names (so every
screen's release, the newest of its groups, and that many rollbacks), and the media of every alert
neither cleared nor expired. Everything else goes: the ``fleet_blob`` row and the file. Releases
are never touched (they are immutable, and kept for audit); one that loses a blob is recorded in
``fleet_release_collected`` and cannot be published again. A removed group's releases are kept by
nobody. Files with no row (a crashed publish) and ``.part`` leftovers go once older than
``ORPHAN_GRACE``; anything else under the blob folder (``screenshots/``) is not looked at.

A publish stores its files before it writes its rows, so on PostgreSQL publishing and alerting hold
a shared advisory lock (``blob_lock``) from the first file to the commit and the collector holds it
exclusively: it never deletes a blob a publish is about to name. Rows are deleted first, then the
files, so a crash half-way leaves only orphan files, which the next run removes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from signage.fleet.central import tables as t
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.protocol import SHA256_RE

log = logging.getLogger(__name__)

DEFAULT_KEEP_RELEASES = 5
ORPHAN_GRACE = timedelta(hours=1)
_BLOB_LOCK = 5_120_303  # not the migration locks of signage.store.migrate or central.migrate
_CHUNK = 500


@contextmanager
def blob_lock(engine: Engine, *, exclusive: bool) -> Iterator[None]:
    """Hold the blob store's advisory lock (shared: publishing, exclusive: collecting); a no-op
    without PostgreSQL. Waits for the other side to finish."""
    if engine.dialect.name != "postgresql":
        yield
        return
    suffix = "" if exclusive else "_shared"
    with engine.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_advisory_lock{suffix}(:key)"), {"key": _BLOB_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text(f"SELECT pg_advisory_unlock{suffix}(:key)"), {"key": _BLOB_LOCK})
            conn.commit()


@dataclass(frozen=True)
class GcPlan:
    kept: frozenset[str]
    doomed: tuple[tuple[str, int], ...]  # (sha256, size) of the rows to delete with their files
    orphans: tuple[Path, ...]  # files no row names, older than the grace
    releases_hit: tuple[tuple[str, int], ...]  # (group, number) newly losing a blob

    @property
    def doomed_bytes(self) -> int:
        return sum(size for _sha, size in self.doomed)


@dataclass(frozen=True)
class GcReport:
    plan: GcPlan
    dry_run: bool
    files_deleted: int = 0
    bytes_freed: int = 0
    failures: tuple[str, ...] = ()  # files that could not be deleted, one sentence each


def kept_blobs(conn: Connection, keep_releases: int, now: datetime) -> frozenset[str]:
    rank = (
        sa.func.row_number()
        .over(partition_by=t.release.c.group_name, order_by=t.release.c.number.desc())
        .label("rank")
    )
    ranked = (
        sa.select(t.release.c.group_name, t.release.c.number, rank)
        .join(t.group, t.group.c.name == t.release.c.group_name)
        .where(t.group.c.removed_utc.is_(None))
        .subquery()
    )
    in_releases = sa.select(t.release_file.c.sha256).join(
        ranked,
        sa.and_(
            ranked.c.group_name == t.release_file.c.group_name,
            ranked.c.number == t.release_file.c.number,
            ranked.c.rank <= keep_releases,
        ),
    )
    in_alerts = sa.select(t.alert.c.media_sha256).where(
        t.alert.c.media_sha256.is_not(None),
        t.alert.c.cleared_utc.is_(None),
        sa.or_(t.alert.c.until_utc.is_(None), t.alert.c.until_utc > now),
    )
    return frozenset(row[0] for row in conn.execute(in_releases.union(in_alerts)))


def _disk_orphans(blobs: BlobStore, kept: frozenset[str], rows: set[str], now: datetime) -> list[Path]:
    """Files in ``<root>/<xx>/`` that no row names (or ``.part`` leftovers), older than the grace."""
    found: list[Path] = []
    if not blobs.root.is_dir():
        return found
    cutoff = (now - ORPHAN_GRACE).timestamp()
    for folder in sorted(blobs.root.iterdir()):
        if len(folder.name) != 2 or not folder.is_dir() or not SHA256_RE.match(folder.name * 32):
            continue  # screenshots/ and anything else that is not a blob folder
        for path in sorted(folder.iterdir()):
            name = path.name
            blob = SHA256_RE.match(name) is not None and name[:2] == folder.name
            leftover = name.startswith(".") and name.endswith(".part")
            if not (blob or leftover) or name in kept or name in rows or not path.is_file():
                continue
            if path.stat().st_mtime < cutoff:
                found.append(path)
    return found


def plan_gc(conn: Connection, blobs: BlobStore, keep_releases: int, now: datetime) -> GcPlan:
    if keep_releases < 1:
        raise ValueError("--keep-releases is at least 1: each group's newest release is on its screens")
    kept = kept_blobs(conn, keep_releases, now)
    rows = {r.sha256: int(r.size) for r in conn.execute(sa.select(t.blob.c.sha256, t.blob.c.size))}
    doomed = tuple(sorted((sha, size) for sha, size in rows.items() if sha not in kept))
    marked = {(r.group_name, r.number) for r in conn.execute(sa.select(t.release_collected))}
    losing = sa.select(t.release_file.c.group_name, t.release_file.c.number).distinct()
    if kept:
        losing = losing.where(t.release_file.c.sha256.not_in(kept))
    hit = sorted({(r.group_name, r.number) for r in conn.execute(losing)} - marked)
    return GcPlan(kept, doomed, tuple(_disk_orphans(blobs, kept, set(rows), now)), tuple(hit))


def collect(
    engine: Engine,
    blobs: BlobStore,
    now: datetime,
    *,
    keep_releases: int = DEFAULT_KEEP_RELEASES,
    dry_run: bool,
) -> GcReport:
    """Plan, and unless ``dry_run`` mark the releases, delete the rows, then delete the files."""
    with blob_lock(engine, exclusive=True):
        with engine.connect() as conn:
            plan = plan_gc(conn, blobs, keep_releases, now)
        if dry_run:
            return GcReport(plan, dry_run=True)
        with engine.begin() as conn:
            if plan.releases_hit:
                conn.execute(
                    t.release_collected.insert(),
                    [{"group_name": g, "number": n, "collected_utc": now} for g, n in plan.releases_hit],
                )
            shas = [sha for sha, _size in plan.doomed]
            for start in range(0, len(shas), _CHUNK):
                conn.execute(t.blob.delete().where(t.blob.c.sha256.in_(shas[start : start + _CHUNK])))
        deleted, freed, failures = 0, 0, []
        for path in [blobs.path_for(sha) for sha in shas] + list(plan.orphans):
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue  # its row outlived it: nothing to free
            except OSError as exc:
                failures.append(f"{path}: {exc.strerror or exc}")
                continue
            deleted, freed = deleted + 1, freed + size
    if deleted or plan.releases_hit:
        log.info(
            "fleet gc: %d blob file(s), %.1f MB deleted; %d release(s) no longer restorable",
            deleted,
            freed / 1e6,
            len(plan.releases_hit),
        )
    return GcReport(plan, False, deleted, freed, tuple(failures))


def collected_releases(conn: Connection, group: str) -> dict[int, datetime]:
    """The group's releases whose blobs were collected, and when."""
    query = sa.select(t.release_collected).where(t.release_collected.c.group_name == group)
    return {r.number: r.collected_utc.astimezone(UTC) for r in conn.execute(query)}
