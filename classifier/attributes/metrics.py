"""The figures of a held-out evaluation, shared by ``evaluation`` (which computes them) and ``plots``.

Kept apart so that the plots read the report without importing the evaluation (and its torch and
MediaPipe), and the evaluation imports the plots only when asked to draw them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np


def softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``z / temperature`` (numerically stable)."""
    z = z / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True)
class GroupMetrics:
    n: int
    age_mae: float | None
    gender_accuracy: float | None


@dataclass(frozen=True)
class EmotionMetrics:
    n: int
    recall: float | None


@dataclass(frozen=True)
class EvaluationReport:
    age_mae: float | None
    gender_accuracy: float | None
    emotion_accuracy: float | None
    n_utkface: int
    n_fer2013: int
    ms_per_face: float | None
    by_age_band: dict[str, GroupMetrics]
    by_gender: dict[str, GroupMetrics]
    by_emotion: dict[str, EmotionMetrics]
    gender_ece: float | None
    emotion_ece: float | None
    age_within_1std: float | None  # share of true ages inside mean +/- 1 predicted std (~0.68 if calibrated)
    faces_detected_utkface: int
    faces_detected_fer2013: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)
