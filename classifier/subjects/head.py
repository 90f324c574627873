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
import torch

# Shrinks the head's weight as examples accumulate: with n examples it gets n / (n + HALF_WEIGHT_AT).
HALF_WEIGHT_AT = 12.0
MAX_WEIGHT = 0.8


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


def fit_head(examples: Sequence[Example], *, l2: float = 1e-2, steps: int = 60) -> SubjectHead | None:
    """Fit on confirmed examples; None until there are examples of at least two subjects.

    Deterministic: zero initialisation and full-batch L-BFGS on a convex loss.
    """
    subject_ids = tuple(sorted({s for ex in examples for s in ex.subject_ids}))
    if len(subject_ids) < 2:
        return None
    rows, labels = [], []
    for ex in examples:
        for s in ex.subject_ids:  # an ad confirmed for two subjects is an example of each
            rows.append(ex.features)
            labels.append(subject_ids.index(s))
    x = torch.from_numpy(np.stack(rows).astype(np.float32))
    y = torch.tensor(labels)
    # Scale features so unit-length 1280-d vectors give logits of a useful size.
    scale = float(np.sqrt(x.shape[1]))
    w = torch.zeros(x.shape[1], len(subject_ids), requires_grad=True)
    b = torch.zeros(len(subject_ids), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x * scale @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return SubjectHead(
        subject_ids=subject_ids,
        weight=(w.detach().numpy() * scale).astype(np.float32),
        bias=b.detach().numpy().astype(np.float32),
        examples=len(examples),
    )
