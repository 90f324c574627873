"""Media files in the library folder: checksums, copies that appear whole or not at all, thumbnails."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np

from signage.domain import MediaKind

THUMB_WIDTH = 320


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or "ad"


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy to a temporary name beside ``dest``, then rename: readers never see half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _middle_frame(path: Path, kind: MediaKind) -> np.ndarray | None:
    if kind is MediaKind.IMAGE:
        return cv2.imread(str(path), cv2.IMREAD_COLOR)
    capture = cv2.VideoCapture(str(path))
    try:
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if frames > 2:
            capture.set(cv2.CAP_PROP_POS_FRAMES, frames // 2)
        ok, frame = capture.read()
        return frame if ok else None
    finally:
        capture.release()


def write_thumbnail(media: Path, kind: MediaKind, dest: Path) -> bool:
    """A 320-px JPEG of the creative (the middle frame of a video); False if no frame decodes."""
    frame = _middle_frame(media, kind)
    if frame is None:
        return False
    height, width = frame.shape[:2]
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / max(1, width))))
    thumb = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", thumb, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(jpeg.tobytes())
    os.replace(tmp, dest)
    return True
