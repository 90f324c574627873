"""Frame sources (webcam, file, stream, simulated scene) and the capture thread."""

from signage.camera.base import CameraFrame, CameraStatus, FrameSource, NoCamera, RGBImage, SourceError
from signage.camera.capture import CameraStage
from signage.camera.factory import open_source

__all__ = [
    "CameraFrame",
    "CameraStage",
    "CameraStatus",
    "FrameSource",
    "NoCamera",
    "RGBImage",
    "SourceError",
    "open_source",
]
