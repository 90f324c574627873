"""What perception needs from its neighbours, each with a fake beside it for tests.

- ``LatestFrame``: the camera stage's one-slot buffer (``signage.camera``); only ``latest()`` is used.
- ``AttributeModelLike``: ``classifier.attributes.AttributeModel``'s ``predict``.
- ``classifier.faces.FaceDetector`` (with ``FakeFaceDetector``) lives with the MediaPipe adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from classifier.types import FaceAttributes
from signage.camera.base import CameraFrame

NEUTRAL_ADULT = FaceAttributes(
    age_years=35.0,
    age_std_years=5.0,
    p_female=0.5,
    emotion_probs=(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0),
)


class LatestFrame(Protocol):
    def latest(self) -> CameraFrame | None:
        """The newest frame, or None while the camera is offline."""


class AttributeModelLike(Protocol):
    def predict(self, crops: np.ndarray) -> list[FaceAttributes]:
        """One estimate per crop of an N x S x S x 3 uint8 RGB batch."""


class FakeLatestFrame:
    """A camera buffer the test fills by hand; ``None`` means offline."""

    def __init__(self) -> None:
        self._frame: CameraFrame | None = None
        self._lock = threading.Lock()
        self.reads = 0

    def put(self, frame: CameraFrame | None) -> None:
        with self._lock:
            self._frame = frame

    def latest(self) -> CameraFrame | None:
        with self._lock:
            self.reads += 1
            return self._frame


class FakeAttributeModel:
    """Answers from a function of the crop (default: a neutral adult); counts batches and faces."""

    def __init__(self, answer: Callable[[np.ndarray], FaceAttributes] | None = None) -> None:
        self._answer = answer or (lambda crop: NEUTRAL_ADULT)
        self.batches: list[int] = []  # the batch size of each predict call

    def predict(self, crops: np.ndarray) -> list[FaceAttributes]:
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[3] != 3 or crops.dtype != np.uint8:
            raise ValueError(f"predict needs N x S x S x 3 uint8 crops, got {crops.shape} {crops.dtype}")
        self.batches.append(len(crops))
        return [self._answer(crop) for crop in crops]

    @property
    def faces(self) -> int:
        return sum(self.batches)
