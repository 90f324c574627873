"""Pooling one person's per-frame attribute estimates into one estimate with its uncertainty.

Frames of one person are not independent evidence: the same face fools the model the same way
in every frame. So pooled confidence grows with the number of samples but saturates: with an
error correlation ``rho`` between samples, ``n`` samples are worth ``n / (1 + (n - 1) rho)``
independent ones, never more than ``1 / rho``. Only running sums are kept (constant memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from classifier.types import FaceAttributes
from signage.domain import EMOTIONS

ADULT_AGE_YEARS = 18.0
_MAX_LOGIT = 9.0  # p = 0.9999: a single sample never claims certainty


@dataclass(frozen=True)
class PooledAttributes:
    age_years: float
    age_std_years: float
    p_female: float
    emotion_probs: tuple[float, ...] | None  # aligned with EMOTIONS; None: emotion not estimated
    p_minor: float  # P(age < 18) under a normal with the pooled mean and spread
    samples: int


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return max(-_MAX_LOGIT, min(_MAX_LOGIT, math.log(p / (1.0 - p))))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _normal_cdf(x: float, mean: float, std: float) -> float:
    return 0.5 * (1.0 + math.erf((x - mean) / (max(std, 1e-6) * math.sqrt(2.0))))


def check_attributes(attributes: FaceAttributes) -> None:
    """ValueError in one sentence if the model's output is unusable (NaN, wrong shape, out of range)."""
    values = (attributes.age_years, attributes.age_std_years, attributes.p_female, *attributes.emotion_probs)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"attribute estimate has a non-finite value: {attributes}")
    if len(attributes.emotion_probs) != len(EMOTIONS):
        raise ValueError(
            f"attribute estimate has {len(attributes.emotion_probs)} emotion probabilities, "
            f"expected {len(EMOTIONS)}"
        )
    if not 0.0 <= attributes.p_female <= 1.0 or attributes.age_std_years < 0:
        raise ValueError(f"attribute estimate is out of range: {attributes}")


class AttributePool:
    """Pools ``FaceAttributes`` samples of one person; pure (time is passed in)."""

    def __init__(
        self, correlation: float = 0.5, emotion_half_life_s: float = 2.0, estimate_emotion: bool = True
    ) -> None:
        if not 0.0 <= correlation < 1.0:
            raise ValueError(f"sample correlation must be in [0, 1), got {correlation}")
        self._rho = correlation
        self._half_life_s = emotion_half_life_s
        self._estimate_emotion = estimate_emotion  # False: the model's emotion output is dropped unread
        self.samples = 0
        self._weight = 0.0  # sum of 1/sigma^2
        self._weighted_age = 0.0
        self._weighted_age_sq = 0.0
        self._logit_sum = 0.0
        self._emotions: list[float] = []
        self._last_mono: float | None = None

    def add(self, attributes: FaceAttributes, now_mono: float) -> None:
        check_attributes(attributes)
        # A floor on the spread: no single frame pins an age to better than a year.
        weight = 1.0 / max(attributes.age_std_years, 1.0) ** 2
        self.samples += 1
        self._weight += weight
        self._weighted_age += weight * attributes.age_years
        self._weighted_age_sq += weight * attributes.age_years**2
        self._logit_sum += _logit(attributes.p_female)
        if self._estimate_emotion:
            self._add_emotions(attributes, now_mono)

    def _add_emotions(self, attributes: FaceAttributes, now_mono: float) -> None:
        total = sum(attributes.emotion_probs) or 1.0
        probs = [p / total for p in attributes.emotion_probs]
        if self._last_mono is None or not self._emotions:
            self._emotions = probs
        else:
            # Emotion is a state, not a trait: an exponential average that forgets with a half-life.
            elapsed = max(0.0, now_mono - self._last_mono)
            keep = 0.5 ** (elapsed / self._half_life_s)
            self._emotions = [
                keep * old + (1.0 - keep) * new for old, new in zip(self._emotions, probs, strict=True)
            ]
        self._last_mono = now_mono

    def effective_samples(self) -> float:
        n = self.samples
        return n / (1.0 + (n - 1) * self._rho) if n else 0.0

    def summary(self) -> PooledAttributes | None:
        if self.samples == 0:
            return None
        n = self.samples
        age = self._weighted_age / self._weight
        mean_variance = n / self._weight  # harmonic mean of the per-sample variances
        # Frame-to-frame disagreement measures only the independent part of the error, (1 - rho) of it:
        # when it exceeds what the model claimed, the model was overconfident for this face.
        disagreement = max(0.0, self._weighted_age_sq / self._weight - age**2)
        per_sample = max(mean_variance, disagreement / (1.0 - self._rho))
        variance = per_sample * (self._rho + (1.0 - self._rho) / n)  # correlated errors shrink this slowly
        std = math.sqrt(variance)
        p_female = _sigmoid(self._logit_sum / n * self.effective_samples())
        return PooledAttributes(
            age_years=age,
            age_std_years=std,
            p_female=p_female,
            emotion_probs=tuple(self._emotions) if self._estimate_emotion else None,
            p_minor=_normal_cdf(ADULT_AGE_YEARS, age, std),
            samples=n,
        )
