from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_png, write_video

from signage.catalog import load_catalog
from signage.library.library import AdDetails, LibraryError, add_ad, list_ads, remove_ad


def test_add_a_video_copies_checksums_thumbnails_and_lists_it(catalog: Path, tmp_path: Path) -> None:
    src = write_video(tmp_path / "incoming" / "Spring Sale.mp4")
    result = add_ad(catalog, src, AdDetails(advertiser="Shop", campaign="spring", title="Spring sale"))
    assert result.added and result.ad_id == "spring-sale"
    assert result.media == catalog.parent / "media" / "spring-sale.mp4"
    assert result.media.read_bytes() == src.read_bytes()
    assert (catalog.parent / "thumbnails" / "spring-sale.jpg").is_file()
    text = catalog.read_text()
    assert "# Store catalog: keep this comment." in text and "# confirmed by the marketer" in text
    row = next(r for r in list_ads(catalog) if r.ad_id == "spring-sale")
    assert row.kind == "video" and row.duration_s == pytest.approx(2.0, abs=0.2) and row.media_present
    ad = load_catalog(catalog).by_id("spring-sale")  # the player accepts what the library wrote
    assert ad is not None and ad.advertiser == "Shop"


def test_adding_the_same_file_twice_is_harmless(catalog: Path, tmp_path: Path) -> None:
    src = write_png(tmp_path / "poster.png", 7)
    first = add_ad(catalog, src)
    snapshot = catalog.read_bytes()
    second = add_ad(catalog, src, AdDetails(ad_id="another-name"))
    assert first.added and not second.added and second.ad_id == first.ad_id
    assert catalog.read_bytes() == snapshot


def test_a_file_already_listed_by_hand_is_recognised(catalog: Path) -> None:
    result = add_ad(catalog, catalog.parent / "media" / "coffee.png")
    assert not result.added and result.ad_id == "coffee-morning"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.mp4", b"\x00\x01 not a video at all" * 50, "cannot be opened"),
        ("empty.png", b"", "is empty"),
        ("notes.txt", b"hello", "unsupported type"),
        ("broken.png", b"\x89PNG\r\n\x1a\n garbage", "cannot be decoded"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_half_added(
    catalog: Path, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    before = catalog.read_bytes()
    media_before = sorted(p.name for p in (catalog.parent / "media").iterdir())
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(LibraryError) as err:
        add_ad(catalog, src)
    message = str(err.value)
    assert expected in message and name in message and message.count(". ") == 0
    assert catalog.read_bytes() == before
    assert sorted(p.name for p in (catalog.parent / "media").iterdir()) == media_before
    assert not (catalog.parent / "thumbnails").exists()


def test_an_id_in_use_is_refused(catalog: Path, tmp_path: Path) -> None:
    src = write_png(tmp_path / "x.png", 9)
    with pytest.raises(LibraryError, match="already used"):
        add_ad(catalog, src, AdDetails(ad_id="mystery"))


def test_remove_keeps_comments_and_the_other_ads(catalog: Path, tmp_path: Path) -> None:
    added = add_ad(catalog, write_png(tmp_path / "sale.png", 11))
    remove_ad(catalog, added.ad_id, delete_media=True)
    assert [r.ad_id for r in list_ads(catalog)] == ["coffee-morning", "mystery"]
    assert "# The coffee ad a person labelled." in catalog.read_text()
    assert not added.media.exists() and not (catalog.parent / "thumbnails" / "sale.jpg").exists()
    with pytest.raises(LibraryError, match="no ad 'sale'"):
        remove_ad(catalog, "sale")
