"""Probe ad media: is it a still or a video, can it be decoded, how long is it.

OpenCV decodes the first and last frames so a truncated or corrupt file is caught before it
reaches the screen; the audio question is answered by libvlc's parser when libvlc is there.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from signage.domain import MediaKind

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


class CatalogMediaError(Exception):
    """The media cannot be shown; the message is one sentence naming the file."""


@dataclass(frozen=True)
class ProbedMediaInfo:
    kind: MediaKind
    width: int
    height: int
    duration_s: float | None  # None for stills
    fps: float | None
    codec: str | None
    audio: bool | None  # None: could not tell
    size_bytes: int


def media_kind(path: Path) -> MediaKind:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return MediaKind.VIDEO
    if suffix in IMAGE_SUFFIXES:
        return MediaKind.IMAGE
    raise CatalogMediaError(f"{path.name} has an unsupported type {suffix or '(no extension)'}")


def _fourcc(code: float) -> str | None:
    value = int(code)
    text = "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
    return text if text.isprintable() and text else None


def _has_audio(path: Path) -> bool | None:
    try:
        import vlc
    except (ImportError, OSError):
        return None
    try:
        instance = vlc.Instance(["--quiet", "--no-video", "--aout=dummy"])
        if instance is None:
            return None
        media = instance.media_new(str(path))
        media.parse_with_options(vlc.MediaParseFlag.local, 2000)
        for _ in range(200):
            if media.get_parsed_status() != 0:
                break
            import time

            time.sleep(0.01)
        tracks = media.tracks_get() or []
        return any(t.type == vlc.TrackType.audio for t in tracks)
    except Exception:  # libvlc errors are not typed; audio is informative only
        log.debug("libvlc could not parse %s for audio", path, exc_info=True)
        return None


def probe_media(path: Path, *, check_audio: bool = False) -> ProbedMediaInfo:
    """Decode enough of ``path`` to know it plays; raise CatalogMediaError with one sentence if not."""
    kind = media_kind(path)
    if not path.is_file():
        raise CatalogMediaError(f"media file {path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise CatalogMediaError(f"media file {path} is empty")
    if kind is MediaKind.IMAGE:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise CatalogMediaError(f"image {path} cannot be decoded (corrupt or not an image)")
        height, width = image.shape[:2]
        return ProbedMediaInfo(kind, width, height, None, None, None, False, size)
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise CatalogMediaError(f"video {path} cannot be opened (corrupt or unsupported codec)")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        codec = _fourcc(capture.get(cv2.CAP_PROP_FOURCC))
        ok, _ = capture.read()
        if not ok:
            raise CatalogMediaError(f"video {path} has no decodable frames (corrupt or unsupported codec)")
        if fps <= 0 or frames <= 0:
            raise CatalogMediaError(f"video {path} does not report its length (corrupt or a stream)")
        capture.set(cv2.CAP_PROP_POS_FRAMES, max(frames - 2, 0))
        ok_end, _ = capture.read()
        if not ok_end:
            raise CatalogMediaError(f"video {path} is truncated (its last frames cannot be decoded)")
    finally:
        capture.release()
    audio = _has_audio(path) if check_audio else None
    return ProbedMediaInfo(kind, width, height, frames / fps, fps, codec, audio, size)


def write_h264(
    path: Path,
    frames: Iterable[npt.NDArray[np.uint8]],
    size: tuple[int, int],
    fps: float,
    *,
    preset: str = "veryfast",
) -> None:
    """Encode BGR frames (all ``size`` = (width, height)) into an H.264 MP4 with ffmpeg.

    For making test clips and benchmark commercials the way real ads are encoded (H.264, keyframes at
    scene cuts); raises CatalogMediaError when ffmpeg is missing or fails.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise CatalogMediaError("ffmpeg is not installed, so H.264 video cannot be written")
    width, height = size
    command = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
               "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", str(path)]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    try:
        for frame in frames:
            process.stdin.write(np.ascontiguousarray(frame).tobytes())
    finally:
        process.stdin.close()
    if process.wait() != 0:
        raise CatalogMediaError(f"ffmpeg could not write {path}")
