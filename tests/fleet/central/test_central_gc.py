"""`signage fleet gc` on the real PostgreSQL: what it keeps, what it deletes, what it marks."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from signage.fleet.central import tables as t
from signage.fleet.central.blobstore import BlobStore, sha256_file
from signage.fleet.central.gc import blob_lock, collect
from signage.fleet.central.releases import list_releases
from tests.fleet.central.conftest import Cli, Content

pytestmark = pytest.mark.postgres


def publish_three(cli: Cli, make_content: Callable[..., Content]) -> list[str]:
    """Releases north#1..3 whose ad-a image differs; returns the three ad-a blobs' sha256."""
    assert cli("stores", "add", "paris", "--timezone", "Europe/Paris")[0] == 0
    assert cli("screens", "add", "scr-1", "--store", "paris", "--tag", "region=north")[0] == 0
    assert cli("groups", "add", "north", "--tag", "region=north")[0] == 0
    content = make_content()
    shas = []
    for grey in (10, 20, 30):
        shas.append(sha256_file(content.write_image("media/a.png", grey))[0])
        code, out, _ = cli(
            "publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules)
        )
        assert code == 0, out
    return shas


def blob_rows(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r.sha256 for r in conn.execute(sa.select(t.blob.c.sha256))}


def test_the_newest_releases_keep_their_blobs_older_ones_are_collected_and_marked(
    cli: Cli, engine: Engine, make_content: Callable[..., Content], tmp_path: Path
) -> None:
    a1, a2, a3 = publish_three(cli, make_content)
    blobs = BlobStore(tmp_path / "blobs")
    before = blob_rows(engine)
    code, out, _ = cli("gc", "--keep-releases", "2", "--dry-run")
    assert code == 0 and "would delete 1 blob(s)" in out and "no longer restorable: north#1" in out
    assert blob_rows(engine) == before and blobs.has(a1)

    code, out, _ = cli("gc", "--keep-releases", "2")
    assert code == 0, out
    assert "deleted 1 file(s)" in out and "no longer restorable: north#1" in out
    assert not blobs.has(a1) and blobs.has(a2) and blobs.has(a3)
    assert blob_rows(engine) == before - {a1}
    with engine.connect() as conn:
        assert [r.release.number for r in list_releases(conn, "north")] == [1, 2, 3]  # never a release row
    code, out, _ = cli("releases", "list", "--group", "north")
    assert "north#1" in out and out.count("[files collected") == 1

    code, _, out = cli("publish", "--group", "north", "--from-release", "1")
    assert code == 1 and out.count("\n") == 1
    assert "release north#1 can no longer be published again: `signage fleet gc` deleted its files" in out
    code, out, _ = cli("publish", "--group", "north", "--from-release", "2")
    assert code == 0 and "published north#4" in out
    code, out, _ = cli(
        "gc", "--keep-releases", "2"
    )  # #3 and #4 kept; #2's files are #4's: it stays restorable
    assert code == 0 and "deleted 0 file(s)" in out and "no longer restorable: none" in out
    assert blobs.has(a2) and blobs.has(a3)


def test_alert_media_is_kept_while_the_alert_is_active(
    cli: Cli, engine: Engine, make_content: Callable[..., Content], tmp_path: Path
) -> None:
    publish_three(cli, make_content)
    content = make_content("alert")
    media = content.write_image("exit.png", 77)
    sha = sha256_file(media)[0]
    code, out, _ = cli("alert", "--group", "north", "--message", "Use the north exit", "--media", str(media))
    assert code == 0, out
    alert_id = out.split()[1]
    blobs = BlobStore(tmp_path / "blobs")
    assert cli("gc")[0] == 0 and blobs.has(sha)
    assert cli("alert-clear", alert_id)[0] == 0
    code, out, _ = cli("gc")
    assert code == 0 and "deleted 1 file(s)" in out and "no longer restorable: none" in out
    assert not blobs.has(sha) and sha not in blob_rows(engine)
    code, out, _ = cli("alerts", "list")
    assert "cleared" in out  # the alert itself stays


def test_orphans_and_removed_groups(
    cli: Cli, engine: Engine, make_content: Callable[..., Content], tmp_path: Path
) -> None:
    shas = publish_three(cli, make_content)
    root = tmp_path / "blobs"
    old_orphan = root / "ab" / ("ab" + "0" * 62)
    new_orphan = root / "ab" / ("ab" + "1" * 62)
    leftover = root / "cd" / ".cd123.part"
    shot = root / "screenshots" / "scr-1.png"
    for path in (old_orphan, new_orphan, leftover, shot):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    two_hours_ago = datetime.now(UTC).timestamp() - 7200
    for path in (old_orphan, leftover, shot):
        os.utime(path, (two_hours_ago, two_hours_ago))
    code, out, _ = cli("gc")
    assert code == 0 and "deleted 2 file(s)" in out
    assert not old_orphan.exists() and not leftover.exists() and new_orphan.exists() and shot.exists()

    assert cli("groups", "remove", "north", "--force")[0] == 0  # its releases are nobody's now
    code, out, _ = cli("gc")
    assert code == 0 and "no longer restorable: north#1, north#2, north#3" in out
    assert not any(BlobStore(root).has(sha) for sha in shas)
    assert blob_rows(engine) == set()


def test_a_collection_waits_for_a_publish_storing_files(engine: Engine, tmp_path: Path) -> None:
    from signage.fleet.central.migrate import upgrade

    upgrade(engine)
    done = threading.Event()

    def run() -> None:
        collect(engine, BlobStore(tmp_path / "blobs"), datetime.now(UTC), dry_run=False)
        done.set()

    with blob_lock(engine, exclusive=False):
        worker = threading.Thread(target=run)
        worker.start()
        assert not done.wait(0.5)  # held back by the publish's shared lock
    worker.join(10)
    assert done.is_set()
