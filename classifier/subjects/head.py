"""The store's own examples: a small multinomial logistic head on image features.

Ads whose subjects a person confirmed are labelled examples. The head is refitted from them whenever
tagging runs (a convex fit on a few hundred rows takes milliseconds), so there is no training step for
the marketer. It only re-ranks subjects it has examples for, inside the probability mass zero-shot
gives those subjects, so a subject nobody confirmed yet is never pushed out by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

# The head's say grows with the examples behind it, n / (n + HALF_WEIGHT_AT), and never exceeds
# MAX_WEIGHT: a linear head on a few dozen ads is noisier than the zero-shot prior it refines.
HALF_WEIGHT_AT = 30.0
MAX_WEIGHT = 0.5


@dataclass(frozen=True)
class Example:
    features: np.ndarray  # (D,) unit length
    subject_ids: tuple[str, ...]


@dataclass(frozen=True)
class SubjectHead:
    subject_ids: tuple[str, ...]  # the subjects it was trained on (at least two)
    weight: np.ndarray  # D x K
    bias: np.ndarray  # K
    examples: int

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.weight + self.bias
        logits = logits - logits.max()
        e = np.exp(logits)
        return e / e.sum()

    @property
    def mix_weight(self) -> float:
        return min(MAX_WEIGHT, self.examples / (self.examples + HALF_WEIGHT_AT))

    def refine(self, zero_shot: np.ndarray, all_ids: Sequence[str], features: np.ndarray) -> np.ndarray:
        """Zero-shot scores with the head's opinion mixed in over the subjects it knows."""
        columns = [list(all_ids).index(s) for s in self.subject_ids if s in all_ids]
        if len(columns) < 2:
            return zero_shot
        known = [s for s in self.subject_ids if s in all_ids]
        head = self.probabilities(features)[[self.subject_ids.index(s) for s in known]]
        head = head / head.sum()
        out = zero_shot.copy()
        mass = float(zero_shot[columns].sum())
        alpha = self.mix_weight
        out[columns] = (1.0 - alpha) * zero_shot[columns] + alpha * mass * head
        return out


def fit_head(examples: Sequence[Example], *, l2: float = 1e-2, steps: int = 100) -> SubjectHead | None:
    """Fit on confirmed examples; None until there are examples of at least two subjects.

    Deterministic: zero initialisation and L-BFGS on a convex loss (softmax cross-entropy + L2).
    """
    subject_ids = tuple(sorted({s for ex in examples for s in ex.subject_ids}))
    if len(subject_ids) < 2:
        return None
    rows, labels = [], []
    for ex in examples:
        for s in ex.subject_ids:  # an ad confirmed for two subjects is an example of each
            rows.append(ex.features)
            labels.append(subject_ids.index(s))
    # Unit-length 1280-d features give tiny logits; scaling by sqrt(D) puts them on a useful range.
    x = np.stack(rows).astype(np.float64) * np.sqrt(len(rows[0]))
    onehot = np.eye(len(subject_ids))[labels]
    dim, k = x.shape[1], len(subject_ids)
    # Class-balanced weights: a store with forty fashion ads and two health ads must not learn
    # "probably fashion" as its prior; every confirmed subject counts equally.
    counts = onehot.sum(axis=0)
    sample_w = (len(labels) / (k * counts))[labels][:, None]

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: dim * k].reshape(dim, k), theta[dim * k :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        n = len(x)
        loss = -float(np.sum(sample_w * onehot * np.log(p + 1e-12))) / n + l2 * float(np.sum(w * w))
        diff = sample_w * (p - onehot) / n
        grad = np.concatenate([(x.T @ diff + 2 * l2 * w).ravel(), diff.sum(axis=0)])
        return loss, grad

    result = minimize(
        loss_and_grad, np.zeros(dim * k + k), jac=True, method="L-BFGS-B", options={"maxiter": steps}
    )
    w, b = result.x[: dim * k].reshape(dim, k), result.x[dim * k :]
    return SubjectHead(
        subject_ids=subject_ids,
        weight=(w * np.sqrt(dim)).astype(np.float32),
        bias=b.astype(np.float32),
        examples=len(examples),
    )
