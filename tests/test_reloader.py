"""The one keep-the-last-good-file mechanism: catalog and media changes, failures of any kind, the thread."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.catalog import catalog_reloader
from signage.domain import Catalog
from signage.reloader import Reloader, ReloadThread

ENTRY = "  - id: {id}\n    media: {media}\n    advertiser: A\n    campaign: c\n    duration_s: 3\n"


def write(path: Path, text: str, bump_ns: int) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_ns))  # a distinct stamp even within one tick


def still(path: Path) -> None:
    cv2.imwrite(str(path), np.full((20, 20, 3), 90, np.uint8))


@pytest.fixture()
def catalog_file(tmp_path: Path) -> Path:
    still(tmp_path / "still.png")
    path = tmp_path / "catalog.yaml"
    write(path, "ads:\n" + ENTRY.format(id="first", media="still.png"), 0)
    return path


def reloader(path: Path) -> Reloader[Catalog]:
    watch = catalog_reloader(path, default_image_s=8.0, clock=time.monotonic)
    assert watch.check()
    return watch


def test_an_added_ad_is_swapped_in(catalog_file: Path) -> None:
    watch = reloader(catalog_file)
    assert not watch.check()  # unchanged files: nothing reloaded
    write(
        catalog_file,
        "ads:\n" + ENTRY.format(id="first", media="still.png") + ENTRY.format(id="second", media="still.png"),
        10**9,
    )
    assert watch.check() and watch.version == 2
    assert [ad.ad_id for ad in watch.current().ads] == ["first", "second"]


def test_a_broken_edit_keeps_the_last_good_catalog_and_is_reported_once(
    catalog_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = reloader(catalog_file)
    before = watch.current()
    write(catalog_file, "ads:\n  - id: [oops\n", 10**9)
    assert not watch.check()
    write(catalog_file, "ads:\n  - id: [oops\n", 2 * 10**9)  # touched again, still broken the same way
    assert not watch.check()
    assert watch.current() is before and watch.version == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "catalog.yaml:" in errors[0].getMessage()
    assert not watch.status.valid and watch.status.error.startswith(str(catalog_file))


def test_a_deleted_file_keeps_the_catalog(catalog_file: Path) -> None:
    watch = reloader(catalog_file)
    before = watch.current()
    catalog_file.unlink()
    assert not watch.check()
    assert watch.current() is before


def test_a_repaired_media_file_is_noticed_without_touching_the_catalog(catalog_file: Path) -> None:
    write(
        catalog_file,
        "ads:\n" + ENTRY.format(id="first", media="still.png") + ENTRY.format(id="late", media="late.png"),
        10**9,
    )
    watch = reloader(catalog_file)
    assert [ad.ad_id for ad in watch.current().ads] == ["first"]  # late.png does not exist yet
    assert not watch.check()
    still(catalog_file.parent / "late.png")  # the operator copies the missing creative in
    assert watch.check()
    assert [ad.ad_id for ad in watch.current().ads] == ["first", "late"]


def test_any_failure_keeps_the_last_good_value_and_a_later_fix_applies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "value.txt"
    write(source, "1", 0)

    def load() -> int:
        text = source.read_text()
        if text == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        return int(text)

    watch = Reloader("value", [source], load, empty=0, clock=time.monotonic)
    assert watch.check() and watch.current() == 1
    write(source, "boom", 10**9)
    assert not watch.check()
    assert watch.current() == 1 and "RecursionError" in watch.status.error
    write(source, "2", 2 * 10**9)
    assert watch.check() and watch.current() == 2 and watch.status.valid


def test_the_thread_outlives_a_reloader_that_raises(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "broken"
        calls = 0

        def check(self) -> bool:
            self.calls += 1
            raise MemoryError("out of memory")

    broken = Broken()
    stop = threading.Event()
    thread = ReloadThread([broken], stop, every_s=0.01)
    thread.start()
    deadline = time.monotonic() + 5
    while broken.calls < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert broken.calls >= 3  # it kept checking after the first failure
    assert sum("broken" in r.getMessage() for r in caplog.records) == 1  # reported once
