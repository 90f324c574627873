"""Media the playback tests generate themselves (no dependency on the sample ads or ../shared)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

# Before pygame is imported anywhere: no window, no sound card needed.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

RED_BGR = (0, 0, 230)
BLUE_BGR = (230, 0, 0)


def make_clip(
    path: Path, bgr: tuple[int, int, int], *, frames: int = 30, size: tuple[int, int] = (320, 240)
) -> Path:
    """A short mp4v clip of one solid colour with a moving white bar (so frames really differ)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, size)
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(frames):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = bgr
        x = (i * 7) % (width - 10)
        image[: height // 8, x : x + 10] = 255
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("clips")
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(7).integers(0, 256, 40_000, dtype=np.uint8).tobytes())
    red = make_clip(folder / "red.mp4", RED_BGR)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(red.read_bytes()[:3000])
    yield {
        "red": red,
        "blue": make_clip(folder / "blue.mp4", BLUE_BGR),
        "corrupt": corrupt,
        "truncated": truncated,
    }
