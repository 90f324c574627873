"""Fixtures of the central side: a migrated registry on the test PostgreSQL, content folders."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.migrate import upgrade
from signage.store.engine import make_engine

CATALOG = """\
# A small catalog: two ads and a standby slide, media beside it.
standby: media/standby.png
ads:
  - id: ad-a
    media: media/a.png
    advertiser: A
    campaign: camp-a
  - id: ad-b
    media: {b_media}
    advertiser: B
    campaign: camp-b
"""

RULES = """\
version: 1
rules:
  - id: a-always
    tier: 10
    play: {ads: [ad-a]}
"""


@dataclass(frozen=True)
class Content:
    root: Path
    catalog: Path
    rules: Path

    def write_image(self, relative: str, grey: int) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((24, 32, 3), grey, np.uint8))
        return path


@pytest.fixture
def make_content(tmp_path: Path) -> Callable[..., Content]:
    """A folder with catalog.yaml, media/ and rules/store.yaml; ``b_media`` moves ad-b's file."""

    def make(name: str = "content", b_media: str = "media/b.png") -> Content:
        root = tmp_path / name
        content = Content(root, root / "catalog.yaml", root / "rules" / "store.yaml")
        content.write_image("media/a.png", 40)
        content.write_image(b_media, 120)
        content.write_image("media/standby.png", 200)
        content.catalog.write_text(CATALOG.format(b_media=b_media), encoding="utf-8")
        content.rules.parent.mkdir(parents=True, exist_ok=True)
        content.rules.write_text(RULES, encoding="utf-8")
        return content

    return make


@pytest.fixture
def central(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test (or earlier run) uses, for retained messages."""
    return f"test-central-{uuid.uuid4().hex[:10]}"


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(pg_url: str, tmp_path: Path) -> Cli:
    """``signage fleet ...`` against the test database, blobs under tmp_path; (exit code, stdout, all)."""
    from signage.cli import app

    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        extra = ["--central", pg_url]
        if args[0] in ("publish", "alert", "gc"):
            extra += ["--blob-dir", str(tmp_path / "blobs")]
        result = runner.invoke(app, ["fleet", *args, *extra])
        return result.exit_code, result.stdout, result.output

    return run


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    """An engine on the test database, schema as the test leaves it (no upgrade)."""
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()
