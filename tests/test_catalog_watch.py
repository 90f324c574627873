import logging
import os
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.catalog import load_catalog
from signage.catalog_watch import CatalogWatcher

ENTRY = "  - id: {id}\n    media: still.png\n    advertiser: A\n    campaign: c\n    duration_s: 3\n"


def write(path: Path, text: str, bump_ns: int) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))  # a distinct stamp even within one tick


@pytest.fixture()
def catalog_file(tmp_path: Path) -> Path:
    cv2.imwrite(str(tmp_path / "still.png"), np.full((20, 20, 3), 90, np.uint8))
    path = tmp_path / "catalog.yaml"
    write(path, "ads:\n" + ENTRY.format(id="first"), 0)
    return path


def watcher(path: Path) -> CatalogWatcher:
    return CatalogWatcher(path, load_catalog(path), threading.Event(), default_image_s=8.0)


def test_an_added_ad_is_swapped_in(catalog_file: Path) -> None:
    watch = watcher(catalog_file)
    assert not watch.check()  # unchanged file: nothing reloaded
    write(catalog_file, "ads:\n" + ENTRY.format(id="first") + ENTRY.format(id="second"), 10**9)
    assert watch.check() and watch.version == 1
    assert [ad.ad_id for ad in watch.current().ads] == ["first", "second"]


def test_a_broken_edit_keeps_the_last_good_catalog_and_is_reported_once(
    catalog_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = watcher(catalog_file)
    before = watch.current()
    write(catalog_file, "ads:\n  - id: [oops\n", 10**9)
    assert not watch.check()
    write(catalog_file, "ads:\n  - id: [oops\n", 2 * 10**9)  # touched again, still broken the same way
    assert not watch.check()
    assert watch.current() is before and watch.version == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "catalog.yaml:" in errors[0].getMessage()


def test_a_deleted_file_keeps_the_catalog(catalog_file: Path) -> None:
    watch = watcher(catalog_file)
    before = watch.current()
    catalog_file.unlink()
    assert not watch.check()
    assert watch.current() is before
