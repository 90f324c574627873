"""Small generated media for library tests (no data from outside the project)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CATALOG_TEXT = """\
# Store catalog: keep this comment.
standby: media/standby.png   # the slide between ads
ads:
  # The coffee ad a person labelled.
  - id: coffee-morning
    media: media/coffee.png
    advertiser: Bean & Co
    campaign: morning-coffee
    title: Morning coffee
    subjects: [drinks]   # confirmed by the marketer
  - id: mystery
    media: media/mystery.png
    advertiser: Someone
    campaign: launch
    title: Something new
"""


def write_png(path: Path, seed: int, size: tuple[int, int] = (160, 120)) -> Path:
    rng = np.random.default_rng(seed)
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:] = rng.integers(0, 255, 3)
    cv2.rectangle(image, (20, 20), (80, 70), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path


def write_video(
    path: Path, seconds: float = 2.0, fps: float = 10.0, size: tuple[int, int] = (160, 90)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    for i in range(int(seconds * fps)):
        frame = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
        cv2.circle(frame, (10 + i * 3 % size[0], size[1] // 2), 12, (0, 0, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def make_catalog(folder: Path) -> Path:
    write_png(folder / "media" / "coffee.png", 1)
    write_png(folder / "media" / "mystery.png", 2)
    write_png(folder / "media" / "standby.png", 3)
    catalog = folder / "catalog.yaml"
    catalog.write_text(CATALOG_TEXT, encoding="utf-8")
    return catalog


import pytest  # noqa: E402


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return make_catalog(tmp_path / "ads")
