"""Webcams, RTSP/HTTP streams and video files through ``cv2.VideoCapture`` (the only cv2 user here)."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import cv2

from signage.camera.base import RGBImage, SourceError, as_u8
from signage.camera.pacing import Pacer

log = logging.getLogger(__name__)

SourceKind = Literal["device", "url", "file"]
_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` replaced, so logs never carry camera credentials."""
    return _CREDENTIALS.sub("***@", url)


class OpenCVSource:
    """One ``cv2.VideoCapture``; frames come out RGB.

    A file is paced to its own frame rate and loops (it stands in for a live camera); a device
    or a stream paces itself and never loops: when it ends, ``read`` returns None and the
    capture stage reconnects.
    """

    def __init__(
        self,
        target: int | str,
        kind: SourceKind,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._target = target
        self._kind = kind
        self._width = width
        self._height = height
        self._fallback_fps = fps
        self._timeout_ms = int(timeout_s * 1000)
        self._clock = clock
        self._sleep = sleep
        self._cap: cv2.VideoCapture | None = None
        self._pacer: Pacer | None = None
        self._frames_since_open = 0
        self.file_fps: float | None = None  # the frame rate a file is paced to, once opened

    @property
    def name(self) -> str:
        if self._kind == "device":
            return f"webcam {self._target}"
        if self._kind == "url":
            return f"stream {redact_url(str(self._target))}"
        return f"file {self._target}"

    def _capture(self) -> cv2.VideoCapture:
        if self._kind == "url":
            # Without these an unreachable or stalled stream blocks for FFmpeg's default 30 s.
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                self._timeout_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                self._timeout_ms,
            ]
            return cv2.VideoCapture(str(self._target), cv2.CAP_FFMPEG, params)
        if self._kind == "device":
            return cv2.VideoCapture(int(self._target))
        return cv2.VideoCapture(str(self._target))

    def open(self) -> None:
        self.close()
        if self._kind == "file" and not Path(str(self._target)).is_file():
            raise SourceError(f"the camera video file {self._target} does not exist (camera.source)")
        cap = self._capture()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"OpenCV could not open {self.name} (camera.source)")
        if self._kind == "device":
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
            cap.set(cv2.CAP_PROP_FPS, self._fallback_fps)
        if self._kind == "file":
            fps = float(cap.get(cv2.CAP_PROP_FPS))
            # Some containers report 0, NaN or a nonsense rate; fall back to the configured one.
            self.file_fps = fps if math.isfinite(fps) and 0 < fps <= 240 else self._fallback_fps
            if self._pacer is None or self._pacer.period_s != 1.0 / self.file_fps:
                self._pacer = Pacer(self.file_fps, self._clock, self._sleep)
        self._cap = cap
        self._frames_since_open = 0

    def _rewind(self) -> bool:
        """Start the file again; reopening is more reliable than seeking across containers."""
        if self._frames_since_open == 0:
            return False  # an empty or unreadable file: rewinding would spin forever
        try:
            self.open()
        except SourceError:
            return False
        return True

    def read(self) -> RGBImage | None:
        if self._cap is None:
            return None
        if self._pacer is not None:
            self._pacer.wait_next()
        ok, bgr = self._cap.read()
        if not ok and self._kind == "file" and self._rewind():
            assert self._cap is not None
            ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self._frames_since_open += 1
        return as_u8(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
