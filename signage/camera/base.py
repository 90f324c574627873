"""The camera edge: what a frame is and what a frame source must do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

RGBImage = npt.NDArray[np.uint8]  # H x W x 3, RGB order (converted once, at the source)


def as_u8(array: Any) -> npt.NDArray[np.uint8]:
    """``array`` typed as uint8 (no copy when it already is): cv2's stubs lose the dtype."""
    return np.asarray(array, dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class CameraFrame:
    image: RGBImage
    captured_mono: float  # time.monotonic() when the frame was read
    seq: int  # increases by one per frame read from the source (never restarts on reconnect)


@dataclass(frozen=True)
class CameraStatus:
    source: str
    online: bool
    frames_read: int
    frames_dropped: int  # frames overwritten in the one-slot buffer before anyone took them
    reconnects: int  # times the source was re-opened after a failure (attempts, successful or not)
    reason: str = ""  # why the camera is offline, one sentence; empty while online
    fps: float = 0.0  # frames per second read recently (0 while offline)


class SourceError(Exception):
    """A frame source could not be opened; the message is one sentence for the operator."""


class FrameSource(Protocol):
    """A blocking reader of frames. Implementations pace themselves (a file plays at its frame rate)."""

    @property
    def name(self) -> str: ...

    def open(self) -> None:
        """Open the device/file/stream; raise SourceError with a one-sentence reason."""

    def read(self) -> RGBImage | None:
        """The next frame, or None when the source failed or ended (the watchdog then reconnects)."""

    def close(self) -> None: ...


class NoCamera:
    """``camera.source: none``: there is no camera; the capture stage stays idle and reports offline."""

    name = "none"

    def open(self) -> None:
        raise SourceError("the camera is switched off in the settings (camera.source: none)")

    def read(self) -> RGBImage | None:
        return None

    def close(self) -> None:
        return None
