"""Plain frozen dataclasses the subject classifier hands out; no torch or cv2 types leave the package."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Subject:
    """One entry of the taxonomy: an id, the words that describe it, and the minors policy flag."""

    subject_id: str
    description: str
    restricted: bool = False


@dataclass(frozen=True)
class SubjectScore:
    subject_id: str
    score: float


@dataclass(frozen=True)
class SubjectScores:
    """Scores over the whole taxonomy, highest first; they sum to 1."""

    scores: tuple[SubjectScore, ...]

    @property
    def top(self) -> SubjectScore | None:
        return self.scores[0] if self.scores else None

    def top_ids(self, k: int) -> tuple[str, ...]:
        return tuple(s.subject_id for s in self.scores[:k])

    def score_of(self, subject_id: str) -> float:
        return next((s.score for s in self.scores if s.subject_id == subject_id), 0.0)

    @classmethod
    def from_vector(cls, subject_ids: tuple[str, ...], vector: np.ndarray) -> SubjectScores:
        order = np.argsort(-vector, kind="stable")
        return cls(tuple(SubjectScore(subject_ids[i], float(vector[i])) for i in order))


@dataclass(frozen=True)
class SampledFrame:
    """One sampled video frame (or the still image), already downscaled; RGB uint8 H x W x 3."""

    time_s: float
    rgb: np.ndarray


@dataclass(frozen=True)
class MediaEmbedding:
    """What the image model saw in one creative: frame-averaged features and ImageNet probabilities.

    ``features`` (1280,) is L2-normalised and feeds the learned head; ``imagenet_probs`` (1000,) feed
    the zero-shot mapping. ``frame_probs`` keeps the per-frame probabilities (frames x 1000).
    """

    features: np.ndarray
    imagenet_probs: np.ndarray
    frame_probs: np.ndarray
    frame_times_s: tuple[float, ...]
