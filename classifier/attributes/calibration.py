"""Calibration on the held-apart calibration split: temperatures for gender and emotion, a factor for the
age spread. Fitted once after training; the test split never takes part."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from classifier.attributes.metrics import softmax
from classifier.attributes.model import Calibration

_LOG_T_GRID = np.linspace(np.log(0.25), np.log(6.0), 241)


def emotion_nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = softmax(logits, temperature)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-12)))


def gender_nll(logits: np.ndarray, female: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    # log(1 + exp(-z)) for positives, log(1 + exp(z)) for negatives, computed stably.
    signed = np.where(female, z, -z)
    return float(np.mean(np.logaddexp(0.0, -signed)))


def fit_temperature(nll: object, logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL: a dense 1-D grid is exact enough and cannot diverge."""
    assert callable(nll)
    losses = [nll(logits, labels, float(np.exp(t))) for t in _LOG_T_GRID]
    return float(np.exp(_LOG_T_GRID[int(np.argmin(losses))]))


def fit_age_scale(age_mean: np.ndarray, laplace_scale: np.ndarray, age: np.ndarray) -> float:
    """Maximum-likelihood factor s for Laplace scales s*b: s = mean(|y - mu| / b)."""
    return float(np.mean(np.abs(age - age_mean) / laplace_scale))


def fit(
    age_mean: np.ndarray,
    laplace_scale: np.ndarray,
    age: np.ndarray,
    gender_logit: np.ndarray,
    female: np.ndarray,
    emotion_logits: np.ndarray,
    emotion: np.ndarray,
) -> Calibration:
    return Calibration(
        gender_temperature=fit_temperature(gender_nll, gender_logit, female.astype(bool)),
        emotion_temperature=fit_temperature(emotion_nll, emotion_logits, emotion.astype(int)),
        age_scale_factor=fit_age_scale(age_mean, laplace_scale, age),
    )


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE: the gap between stated confidence and observed accuracy, averaged over confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in pairwise(edges):
        mask = (confidence > low) & (confidence <= high)
        if mask.any():
            total += mask.mean() * abs(float(correct[mask].mean()) - float(confidence[mask].mean()))
    return total
