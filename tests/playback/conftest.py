"""Media the playback tests generate themselves (no dependency on the sample ads or ../shared)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from signage.testing.clips import BLUE_BGR, RED_BGR, make_clip

# Before pygame is imported anywhere: no window, no sound card needed.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


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
