"""Publishing: validated as a screen would load it, media stored once, numbers that only grow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from signage.catalog import load_catalog
from signage.fleet.central import tables as t
from signage.fleet.central.blobstore import BlobStore, sha256_file
from signage.fleet.central.bundle import Bundle, BundleError, Validation, prepare_bundle, release_media_path
from signage.fleet.central.registry import RegistryError, add_group
from signage.fleet.central.releases import insert_release, list_releases, republish, store_blobs
from signage.fleet.protocol import ProtocolError, Release
from tests.fleet.central.conftest import Content

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
Make = Callable[..., Content]


def _publish(engine: Engine, blobs: BlobStore, group: str, bundle: Bundle) -> Release:
    entries, _ = store_blobs(blobs, bundle.files)
    return insert_release(engine, group, entries, "test", NOW)


def _blob_files(blobs: BlobStore) -> list[Path]:
    return sorted(p for p in blobs.root.rglob("*") if p.is_file()) if blobs.root.exists() else []


def test_media_paths_land_under_media() -> None:
    assert release_media_path(Path("media/a.png")) == "media/a.png"
    assert release_media_path(Path("clips/b.png")) == "media/clips/b.png"
    assert release_media_path(Path("./media/x/c.mp4")) == "media/x/c.mp4"
    for bad in ("../a.png", "/srv/a.png", "media/.hidden.png"):
        with pytest.raises(ProtocolError):
            release_media_path(Path(bad))


def test_a_valid_folder_is_bundled_with_its_catalog_as_written(make_content: Make) -> None:
    content = make_content()
    bundle = prepare_bundle(content.catalog, [content.rules], Validation())
    paths = [f.path for f in bundle.files]
    assert paths == ["catalog.yaml", "rules/store.yaml", "media/a.png", "media/b.png", "media/standby.png"]
    assert bundle.files[0].data == content.catalog.read_bytes()  # media already under media/: unchanged
    assert (bundle.ads, bundle.rule_count) == (2, 1)


def test_other_media_paths_are_rewritten_and_the_result_loads(make_content: Make, tmp_path: Path) -> None:
    content = make_content(b_media="clips/b.png")
    bundle = prepare_bundle(content.catalog, [], Validation())
    catalog = bundle.files[0]
    assert catalog.data is not None
    text = catalog.data.decode()
    assert "media: media/clips/b.png" in text and "# A small catalog" in text  # comments survive
    staged = tmp_path / "staged"
    for item in bundle.files:
        dest = staged / item.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = item.source
        dest.write_bytes(source.read_bytes() if source is not None else item.data or b"")
    loaded = load_catalog(staged / "catalog.yaml")
    assert [ad.ad_id for ad in loaded.ads] == ["ad-a", "ad-b"] and loaded.skipped == ()


@pytest.mark.parametrize(
    ("rules", "where", "message"),
    [
        (
            "version: 1\nrules:\n  - id: r\n    tier: 10\n    dates: [{from: 2026-02-30}]\n    play: {ads: [ad-a]}\n",
            "bad.yaml:5:20",
            "not a valid date",
        ),
        (
            "version: 1\nrules:\n  - id: r\n    tier: 10\n    play: {ads: [nope]}\n",
            "bad.yaml:5:18",
            "no ad 'nope'",
        ),
    ],
)
def test_a_bad_rule_file_stops_the_bundle_with_file_and_line(
    make_content: Make, rules: str, where: str, message: str
) -> None:
    content = make_content()
    bad = content.root / "bad.yaml"
    bad.write_text(rules, encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        prepare_bundle(content.catalog, [content.rules, bad], Validation())
    assert any(
        str(f).startswith(f"{bad.parent}/{where}") and message in f.message for f in caught.value.findings
    ), [str(f) for f in caught.value.findings]


def test_warnings_may_be_allowed_and_are_then_returned(make_content: Make) -> None:
    content = make_content()
    odd = content.root / "odd.yaml"
    odd.write_text("version: 1\nrules:\n  - id: r\n    tier: 10\n    play: {ads: [nope]}\n", encoding="utf-8")
    bundle = prepare_bundle(content.catalog, [odd], Validation(allow_warnings=True))
    assert any("no ad 'nope'" in w.message for w in bundle.warnings)


def test_media_that_would_not_play_stops_the_bundle_at_its_line(make_content: Make) -> None:
    content = make_content()
    (content.root / "media" / "b.png").write_bytes(b"not an image")
    with pytest.raises(BundleError) as caught:
        prepare_bundle(content.catalog, [content.rules], Validation())
    texts = [str(f) for f in caught.value.findings]
    assert any(
        t.startswith(f"{content.catalog}:9:12:") and "ad 'ad-b' would be left out" in t for t in texts
    ), texts


def test_media_outside_the_catalog_folder_is_refused(make_content: Make) -> None:
    content = make_content()
    content.catalog.write_text(content.catalog.read_text().replace("media/a.png", "../elsewhere.png"))
    with pytest.raises(BundleError, match="leaves the catalog's folder"):
        prepare_bundle(content.catalog, [], Validation())


def test_rules_are_checked_in_every_time_zone_of_the_group(make_content: Make) -> None:
    content = make_content()
    bundle = prepare_bundle(
        content.catalog, [content.rules], Validation(timezones=("Europe/Paris", "Asia/Tokyo"))
    )
    assert bundle.rule_count == 1


@pytest.mark.postgres
def test_a_refused_publish_stores_nothing(central: Engine, blobs: BlobStore, make_content: Make) -> None:
    content = make_content()
    content.rules.write_text("version: 1\nrules:\n  - id: r\n    tier: ten\n    play: {ads: [ad-a]}\n")
    with pytest.raises(BundleError):
        prepare_bundle(content.catalog, [content.rules], Validation())
    with central.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.release)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.blob)).scalar_one() == 0
    assert _blob_files(blobs) == []


@pytest.mark.postgres
def test_media_is_stored_once_across_releases_and_rollback_gets_a_new_number(
    central: Engine, blobs: BlobStore, make_content: Make
) -> None:
    with central.begin() as conn:
        add_group(conn, "north", NOW, selector={})
    content = make_content()
    first = _publish(central, blobs, "north", prepare_bundle(content.catalog, [content.rules], Validation()))
    content.write_image("media/b.png", 99)  # ad-b's creative changes; ad-a's and the standby do not
    second = _publish(central, blobs, "north", prepare_bundle(content.catalog, [content.rules], Validation()))
    assert (first.number, second.number) == (1, 2)
    by_path = {f.path: f.sha256 for f in first.files}
    assert {f.path: f.sha256 for f in second.files}["media/a.png"] == by_path["media/a.png"]
    assert {f.path: f.sha256 for f in second.files}["media/b.png"] != by_path["media/b.png"]
    stored = _blob_files(blobs)
    assert len(stored) == len({f.sha256 for f in first.files + second.files}) == 6
    for item in stored:
        assert item == blobs.path_for(item.name) and sha256_file(item)[0] == item.name
    rollback = republish(central, blobs, "north", 1, NOW)
    assert rollback.number == 3 and rollback.files == first.files
    with central.connect() as conn:
        rows = list_releases(conn, "north")
        assert [r.release.number for r in rows] == [1, 2, 3] and rows[2].note == "rollback to north#1"
        assert conn.execute(sa.select(sa.func.count()).select_from(t.blob)).scalar_one() == 6
    assert len(_blob_files(blobs)) == 6
    with pytest.raises(RegistryError, match="has no release 9"):
        republish(central, blobs, "north", 9, NOW)


@pytest.mark.postgres
def test_publishes_at_the_same_moment_get_different_numbers(central: Engine) -> None:
    with central.begin() as conn:
        add_group(conn, "g", NOW, selector={})
    from signage.fleet.protocol import ReleaseFile

    files = [ReleaseFile("catalog.yaml", "b" * 64, 10)]
    numbers: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def publish() -> None:
        try:
            start.wait()
            numbers.append(insert_release(central, "g", files, "race", NOW).number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(numbers) == [1, 2, 3, 4]


@pytest.mark.postgres
def test_publishing_to_a_missing_group_is_refused(central: Engine) -> None:
    from signage.fleet.protocol import ReleaseFile

    with pytest.raises(RegistryError, match="no group 'nope'"):
        insert_release(central, "nope", [ReleaseFile("catalog.yaml", "c" * 64, 1)], "x", NOW)
