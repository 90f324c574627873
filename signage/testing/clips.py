"""Media the playback tests and contracts generate themselves (no dependency on the sample ads)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

RED_BGR = (0, 0, 230)
BLUE_BGR = (230, 0, 0)


def make_clip(
    path: Path, bgr: tuple[int, int, int], *, frames: int = 30, size: tuple[int, int] = (320, 240)
) -> Path:
    """A short mp4v clip (30 fps) of one solid colour with a moving white bar (so frames really differ)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write mp4v to {path}")
    for i in range(frames):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = bgr
        x = (i * 7) % (width - 10)
        image[: height // 8, x : x + 10] = 255
        writer.write(image)
    writer.release()
    return path


def make_still(path: Path, bgr: tuple[int, int, int], size: tuple[int, int] = (160, 90)) -> Path:
    """A solid-colour image (the format follows ``path``'s suffix)."""
    width, height = size
    if not cv2.imwrite(str(path), np.full((height, width, 3), bgr, np.uint8)):
        raise RuntimeError(f"OpenCV cannot write {path}")
    return path
