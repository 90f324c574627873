"""``camera.source`` -> a FrameSource."""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2

from signage.camera.base import FrameSource, NoCamera, SourceError
from signage.camera.opencv_source import OpenCVSource
from signage.camera.simulated import SimulatedSource
from signage.settings import CameraSettings

log = logging.getLogger(__name__)

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_SIMULATED = re.compile(r"^simulated(?::(\d+))?$")  # "simulated" or "simulated:SEED"


def _device(index: int, settings: CameraSettings) -> OpenCVSource:
    return OpenCVSource(index, "device", width=settings.width, height=settings.height, fps=settings.fps)


def candidate_devices() -> list[int]:
    """Device indices worth probing: the /dev/video* nodes on Linux, else 0-3."""
    nodes = sorted(glob.glob("/dev/video*"))
    if Path("/dev").is_dir():
        indices = [int(m.group(1)) for n in nodes if (m := re.search(r"video(\d+)$", n))]
        return sorted(indices)
    return [0, 1, 2, 3]


def _opens(source: OpenCVSource) -> bool:
    try:
        source.open()
        return source.read() is not None
    except SourceError:
        return False
    finally:
        source.close()


def find_webcam(
    settings: CameraSettings,
    candidates: Iterable[int] | None = None,
    opens: Callable[[OpenCVSource], bool] = _opens,
) -> OpenCVSource | None:
    """The first device that opens and delivers a frame, or None."""
    previous = cv2.getLogLevel()
    cv2.setLogLevel(2)  # errors only: probing absent devices is expected, not worth warnings
    try:
        for index in candidate_devices() if candidates is None else candidates:
            source = _device(index, settings)
            if opens(source):
                return source
    finally:
        cv2.setLogLevel(previous)
    return None


def open_source(
    spec: str,
    settings: CameraSettings,
    find: Callable[[CameraSettings], FrameSource | None] = find_webcam,
) -> FrameSource:
    """The source ``spec`` names; nothing is opened yet except when probing for ``auto``.

    ``auto``: the first webcam that opens, else the simulated scene. ``simulated`` (or
    ``simulated:SEED``), ``none``, a device index (``0``), a URL (``rtsp://``, ``http://``...)
    or a video file path. A file that does not exist is not an error here: the capture stage
    reports it and keeps retrying (it may be on storage that mounts later).
    """
    text = spec.strip()
    if not text:
        raise SourceError(
            "camera.source is empty; use auto, simulated, none, a device number, a URL or a file"
        )
    lowered = text.lower()
    if lowered == "none":
        return NoCamera()
    if lowered == "auto":
        webcam = find(settings)
        if webcam is not None:
            log.info("camera auto: using %s", webcam.name)
            return webcam
        log.info("camera auto: no webcam opens, using the simulated scene")
        return SimulatedSource(settings.width, settings.height, settings.fps)
    if match := _SIMULATED.match(lowered):
        seed = int(match.group(1)) if match.group(1) else 0
        return SimulatedSource(settings.width, settings.height, settings.fps, seed=seed)
    if text.isdigit():
        return _device(int(text), settings)
    if _URL.match(text):
        return OpenCVSource(
            text,
            "url",
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            timeout_s=settings.frozen_after_s,
        )
    return OpenCVSource(
        str(Path(text).expanduser()), "file", width=settings.width, height=settings.height, fps=settings.fps
    )
