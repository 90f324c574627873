"""Representative frames of a creative: scene changes, the packshot at the end, never every frame.

Decoding every frame of a 1080p minute costs more than the whole budget, so the video is read with
``ffmpeg -skip_frame nokey``: only keyframes are decoded, and encoders put keyframes exactly where the
picture changes (x264's scene-cut detection) plus every few seconds. Frames are downscaled inside
ffmpeg, so full-size pictures never reach Python. Candidates are then grouped into scenes by a tiny
colour/layout descriptor and one frame per scene is kept, always including the last one (end cards and
packshots carry the product).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classifier.subjects.types import SampledFrame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})
# Every suffix the player plays (signage.media; tests/test_vocabulary.py checks), and animated GIF banners.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".mpg", ".mpeg", ".ts", ".gif"})
_PTS = re.compile(r"pts_time:\s*([0-9.eE+-]+)")


class MediaSamplingError(Exception):
    """The file cannot be read as an image or a video; the message is one sentence."""


@dataclass(frozen=True)
class VideoGeometry:
    width: int
    height: int
    duration_s: float


def scaled_size(width: int, height: int, short_side: int, max_aspect: float = 2.0) -> tuple[int, int]:
    """Output size with the short side at ``short_side`` (even numbers, aspect capped for banners)."""
    scale = short_side / max(1, min(width, height))
    out_w, out_h = max(2, round(width * scale)), max(2, round(height * scale))
    long_cap = int(short_side * max_aspect)
    out_w, out_h = min(out_w, long_cap), min(out_h, long_cap)
    return out_w - out_w % 2, out_h - out_h % 2


def _imread_rgb(path: Path) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else np.empty(0, np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaSamplingError(f"{path} is not a readable image.")
    return np.ascontiguousarray(image[:, :, ::-1])


def read_image(path: Path, short_side: int) -> SampledFrame:
    return SampledFrame(0.0, resize_rgb(_imread_rgb(path), short_side))


def fit_long_side(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """Shrunk (never enlarged) so that its long side is at most ``long_side``; aspect kept."""
    height, width = rgb.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


def resize_rgb(rgb: np.ndarray, short_side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    out_w, out_h = scaled_size(width, height, short_side)
    if (out_w, out_h) == (width, height):
        return np.ascontiguousarray(rgb)
    # INTER_AREA: the right filter for shrinking; aliasing would change what the network sees.
    interp = cv2.INTER_AREA if out_w < width else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, (out_w, out_h), interpolation=interp))


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise MediaSamplingError(
            "ffmpeg is not installed, so videos cannot be sampled (apt-get install ffmpeg)."
        )
    return exe


def video_geometry(path: Path) -> VideoGeometry:
    exe = shutil.which("ffprobe")
    if exe is None:
        raise MediaSamplingError(
            "ffprobe is not installed, so videos cannot be sampled (apt-get install ffmpeg)."
        )
    cmd = [
        exe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=width,height,duration:format=duration",
        "-of",
        "json",
        str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    try:
        info = json.loads(proc.stdout or b"{}")
        stream = info["streams"][0]
        duration = float(stream.get("duration") or info.get("format", {}).get("duration") or 0.0)
        return VideoGeometry(int(stream["width"]), int(stream["height"]), duration)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise MediaSamplingError(f"{path} has no readable video stream.") from exc


def _decode(
    path: Path,
    size: tuple[int, int],
    *,
    keyframes_only: bool,
    seek_s: float | None = None,
    max_frames: int | None = None,
) -> list[SampledFrame]:
    width, height = size
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "info"]
    if keyframes_only:
        cmd += ["-skip_frame", "nokey"]
    if seek_s is not None:
        cmd += ["-ss", f"{seek_s:.3f}"]
    cmd += [
        "-i",
        str(path),
        "-an",
        "-sn",
        "-vf",
        f"scale={width}:{height}:flags=area,showinfo",
        "-fps_mode",
        "passthrough",
    ]
    if max_frames is not None:
        cmd += ["-frames:v", str(max_frames)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = subprocess.run(cmd, capture_output=True, timeout=300, check=False)
    frame_bytes = width * height * 3
    count = len(proc.stdout) // frame_bytes
    times = [float(m) for m in _PTS.findall(proc.stderr.decode("utf-8", "replace"))]
    pixels = np.frombuffer(proc.stdout[: count * frame_bytes], np.uint8).reshape(count, height, width, 3)
    offset = seek_s or 0.0
    return [SampledFrame(offset + (times[i] if i < len(times) else 0.0), pixels[i]) for i in range(count)]


def descriptor(rgb: np.ndarray) -> np.ndarray:
    """Layout + colour fingerprint: an 8x8 thumbnail in Lab, so cuts between scenes stand out."""
    thumb = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(thumb, cv2.COLOR_RGB2LAB).astype(np.float32) / 255.0
    return lab.reshape(-1)


def select_representatives(
    descriptors: np.ndarray, max_frames: int, cut_threshold: float = 0.08
) -> list[int]:
    """Indices of one frame per scene (the middle one), the last frame always kept.

    A new scene starts where the mean descriptor change between consecutive candidates exceeds
    ``cut_threshold``. With more scenes than ``max_frames``, the most mutually different ones are
    kept (farthest-point sampling from the last frame), so a long ad is not cut to its first shots.
    """
    count = len(descriptors)
    if count == 0:
        return []
    if count == 1:
        return [0]
    change = np.abs(np.diff(descriptors, axis=0)).mean(axis=1)
    starts = [0, *[i + 1 for i, c in enumerate(change) if c > cut_threshold]]
    ends = [*starts[1:], count]
    picks = [(s + e - 1) // 2 for s, e in zip(starts, ends, strict=True)]
    if picks[-1] != count - 1:
        picks.append(count - 1)
    if len(picks) <= max_frames:
        return picks
    chosen = [count - 1]
    dist = np.linalg.norm(descriptors[picks] - descriptors[count - 1], axis=1)
    while len(chosen) < max_frames:
        best = int(np.argmax(dist))
        chosen.append(picks[best])
        dist = np.minimum(dist, np.linalg.norm(descriptors[picks] - descriptors[picks[best]], axis=1))
    return sorted(set(chosen))


def gap_fill_times(candidates: list[float], duration_s: float, slots: int = 6) -> list[float]:
    """Times on an even grid (plus the last moment) that no candidate frame is near."""
    if duration_s <= 0:
        return []
    spacing = max(2.0, duration_s / slots)
    picked: list[float] = []
    for at in (duration_s * (i + 0.5) / slots for i in range(slots)):
        if all(abs(t - at) > spacing / 2 for t in [*candidates, *picked]):
            picked.append(at)
    # The end card: a keyframe within one spacing of the end already shows it (encoders cut there);
    # otherwise seek. The seek decodes from the previous keyframe, so it is only made when needed.
    end = max(0.0, duration_s - 0.3)
    if all(end - t > spacing for t in [*candidates, *picked]):
        picked.append(end)
    return picked


@dataclass(frozen=True)
class SampledMedia:
    """What the classifier looks at: small frames for the image model, larger ones for reading text."""

    frames: list[SampledFrame]  # short side ``short_side``, one per scene, the last one always included
    text_frames: list[
        SampledFrame
    ]  # long side at most ``text_side``: the end card and the most different scenes
    duration_s: float  # 0 for a still


def pick_text_frames(descriptors: np.ndarray, count: int) -> list[int]:
    """The last frame (end card, packshot, brand) and the ``count - 1`` most different others."""
    total = len(descriptors)
    if total == 0 or count <= 0:
        return []
    chosen = [total - 1]
    dist = np.linalg.norm(descriptors - descriptors[-1], axis=1)
    while len(chosen) < min(count, total):
        best = int(np.argmax(dist))
        if dist[best] <= 0.0:
            break  # the rest look like frames already chosen
        chosen.append(best)
        dist = np.minimum(dist, np.linalg.norm(descriptors - descriptors[best], axis=1))
    return sorted(chosen)


def sample_video(
    path: Path, *, max_frames: int = 8, short_side: int = 224, text_side: int = 0, text_frames: int = 3
) -> SampledMedia:
    geometry = video_geometry(path)
    if text_side > 0:
        # One decode serves both: frames come out at the text size and are shrunk in memory.
        scale = min(1.0, text_side / max(1, geometry.width, geometry.height))
        w, h = max(2, round(geometry.width * scale)), max(2, round(geometry.height * scale))
        size = (w - w % 2, h - h % 2)
    else:
        size = scaled_size(geometry.width, geometry.height, short_side)
    frames = _decode(path, size, keyframes_only=True)
    # Sparse keyframes (an encoder without scene-cut detection, or one long shot): fill the gaps by
    # seeking, and always look at the end card. Each seek decodes at most one GOP, so few are made.
    for at in gap_fill_times([f.time_s for f in frames], geometry.duration_s):
        frames += _decode(path, size, keyframes_only=False, seek_s=at, max_frames=1)
    frames.sort(key=lambda f: f.time_s)
    if not frames:
        raise MediaSamplingError(f"{path} has no decodable video frames.")
    descriptors = np.stack([descriptor(f.rgb) for f in frames])
    keep = select_representatives(descriptors, max_frames)
    log.debug("sampled %d of %d candidate frames from %s", len(keep), len(frames), path)
    small = [SampledFrame(frames[i].time_s, resize_rgb(frames[i].rgb, short_side)) for i in keep]
    texts = [frames[keep[i]] for i in pick_text_frames(descriptors[keep], text_frames)] if text_side else []
    return SampledMedia(small, texts, geometry.duration_s)


def sample_media(
    path: Path, *, max_frames: int = 8, short_side: int = 224, text_side: int = 0, text_frames: int = 3
) -> SampledMedia:
    """Frames of an image or a video; ``text_side`` > 0 also gives frames to read text from."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise MediaSamplingError(f"{path} does not exist.")
    if suffix in IMAGE_SUFFIXES:
        rgb = _imread_rgb(path)
        texts = (
            [SampledFrame(0.0, fit_long_side(rgb, text_side))] if text_side > 0 and text_frames > 0 else []
        )
        return SampledMedia([SampledFrame(0.0, resize_rgb(rgb, short_side))], texts, 0.0)
    if suffix in VIDEO_SUFFIXES:
        return sample_video(
            path, max_frames=max_frames, short_side=short_side, text_side=text_side, text_frames=text_frames
        )
    raise MediaSamplingError(
        f"{path} has an unsupported type '{suffix}'; use one of "
        f"{', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))}."
    )


def sample_frames(path: Path, *, max_frames: int = 8, short_side: int = 224) -> list[SampledFrame]:
    """Frames to classify: the image itself, or representative frames of a video."""
    return sample_media(path, max_frames=max_frames, short_side=short_side).frames
