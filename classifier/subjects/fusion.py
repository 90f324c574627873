"""One scorer over all the evidence: pure maths from per-signal subject vectors to calibrated probabilities.

Each signal gives one number per subject: the picture's zero-shot opinion (log probability), the
on-screen text's sentence similarity to each description, the brand/product words OCR read, and a
learned head on the picture and text embeddings. The final logit of a subject is a weighted sum of
its signals divided by a temperature. The weights are shared by all subjects, so a subject an
operator adds (no training examples, no learned-head column) is still scored through its
description; the learned head only speaks for the subjects it was trained on.

The weights, the head and the temperature are fitted by ``classifier.subjects.train`` and stored in
``models/ad_subjects.npz`` (plain arrays, no pickle), pinned in ``models/manifest.yaml``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ENTRY_NAME = "ad_subjects"
FILE_NAME = "ad_subjects.npz"
# The signals the weights are learned for, in this order. Catalog title/description reuse the
# on-screen text weights (no training ad has them): "catalog_text" like "screen_text", "catalog_words"
# like "screen_words", each times CATALOG_BOOST because a title is written to say what is sold.
SIGNALS = ("image", "screen_text", "screen_words", "learned")
CATALOG_BOOST = 1.5
LOG_FLOOR = 0.01  # probabilities are floored before the log so that one signal cannot veto


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression on a media's embedding, over the subjects it was trained on."""

    subject_ids: tuple[str, ...]
    weight: np.ndarray  # D x K
    bias: np.ndarray  # K

    def log_probs(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.weight + self.bias
        logits = logits - logits.max()
        return logits - np.log(np.exp(logits).sum())

    def signal(self, x: np.ndarray, subject_ids: Sequence[str]) -> np.ndarray:
        """Per subject of ``subject_ids``: log of the head's probability (floored); a subject the head
        does not know gets the log of an even share, so it is neither favoured nor ruled out."""
        probs = np.exp(self.log_probs(x))
        even = 1.0 / max(1, len(self.subject_ids))
        lookup = dict(zip(self.subject_ids, probs, strict=True))
        return np.log(np.array([lookup.get(s, even) for s in subject_ids]) + LOG_FLOOR).astype(np.float32)


def fit_linear_head(
    x: np.ndarray, labels: Sequence[tuple[str, ...]], *, l2: float = 0.05, steps: int = 200
) -> LinearHead:
    """Class-balanced softmax regression with L2, from zero (deterministic, convex)."""
    subject_ids = tuple(sorted({s for ls in labels for s in ls}))
    rows, targets = [], []
    for features, subjects in zip(x, labels, strict=True):
        for s in subjects:
            rows.append(features)
            targets.append(subject_ids.index(s))
    xs = np.stack(rows).astype(np.float64)
    k, d = len(subject_ids), xs.shape[1]
    onehot = np.eye(k)[targets]
    counts = onehot.sum(axis=0)
    sample_w = (len(targets) / (k * counts))[targets][:, None]

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: d * k].reshape(d, k), theta[d * k :]
        logits = xs @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        n = len(xs)
        loss = -float(np.sum(sample_w * onehot * np.log(p + 1e-12))) / n + l2 * float(np.sum(w * w))
        diff = sample_w * (p - onehot) / n
        grad = np.concatenate([(xs.T @ diff + 2 * l2 * w).ravel(), diff.sum(axis=0)])
        return loss, grad

    result = minimize(
        loss_and_grad, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": steps}
    )
    w, b = result.x[: d * k].reshape(d, k), result.x[d * k :]
    return LinearHead(subject_ids, w.astype(np.float32), b.astype(np.float32))


def fit_weights(
    signals: Sequence[np.ndarray], truths: Sequence[Sequence[int]], *, l2: float = 0.01
) -> np.ndarray:
    """Signal weights by maximum likelihood: ``signals[i]`` is S x len(SIGNALS) for item i, ``truths[i]``
    the columns that are right (the probability mass on any of them is what is maximised)."""
    n_signals = signals[0].shape[1]

    def loss_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = l2 * float(w @ w), 2 * l2 * w
        for f, right in zip(signals, truths, strict=True):
            z = f @ w
            z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            q = np.zeros_like(p)
            mass = p[list(right)].sum()
            q[list(right)] = p[list(right)] / max(mass, 1e-12)
            loss -= float(np.log(max(mass, 1e-12))) / len(signals)
            grad -= (f.T @ (q - p)) / len(signals)
        return loss, grad

    result = minimize(loss_and_grad, np.ones(n_signals), jac=True, method="L-BFGS-B")
    return np.asarray(result.x, np.float64)


def fit_temperature(logits: Sequence[np.ndarray], truths: Sequence[Sequence[int]]) -> float:
    """The temperature that maximises the likelihood of held-out logits (a grid: it is one number)."""
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 61)):
        nll = 0.0
        for z, right in zip(logits, truths, strict=True):
            p = softmax(z / t)
            nll -= float(np.log(max(p[list(right)].sum(), 1e-12)))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


@dataclass(frozen=True)
class FusionModel:
    """Signal weights, the learned head and the temperature; ``probabilities`` is all that is needed."""

    weights: Mapping[str, float]
    temperature: float = 1.0
    head: LinearHead | None = None
    info: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def zero_shot(cls) -> FusionModel:
        """Hand-set weights with no learned part, for a folder without trained weights."""
        return cls({"image": 1.0, "screen_text": 20.0, "screen_words": 2.0, "learned": 0.0})

    def terms(self, signals: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each signal's weighted share of the logits (centred per signal, so they read as pushes)."""
        out = {}
        for name, values in signals.items():
            base = name.replace("catalog_", "screen_")
            boost = CATALOG_BOOST if name.startswith("catalog_") else 1.0
            w = float(self.weights.get(base, 0.0)) * boost / self.temperature
            if name == "learned" and self.head is None:
                w = 0.0
            out[name] = (w * (values - values.mean())).astype(np.float32)
        return out

    def probabilities(self, signals: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        terms = self.terms(signals)
        logits = np.sum(list(terms.values()), axis=0)
        return softmax(logits.astype(np.float64)).astype(np.float32), terms

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "weights": np.array([self.weights.get(s, 0.0) for s in SIGNALS], np.float64),
            "temperature": np.array(self.temperature),
            "info": np.array(json.dumps(dict(self.info))),
        }
        if self.head is not None:
            arrays |= {
                "head_subjects": np.array(self.head.subject_ids),
                "head_weight": self.head.weight,
                "head_bias": self.head.bias,
            }
        with path.open("wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: Path) -> FusionModel:
        with np.load(path, allow_pickle=False) as data:
            weights = dict(zip(SIGNALS, (float(v) for v in data["weights"]), strict=True))
            head = None
            if "head_weight" in data:
                head = LinearHead(
                    tuple(str(s) for s in data["head_subjects"]), data["head_weight"], data["head_bias"]
                )
            return cls(weights, float(data["temperature"]), head, json.loads(str(data["info"])))


DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def load_fusion(models_dir: Path = DEFAULT_MODELS_DIR) -> FusionModel:
    """The trained scorer pinned in ``models_dir/manifest.yaml``; ``ModelError`` (one sentence) if the
    file is missing or its sha256 differs."""
    from classifier.attributes.manifest import ModelError, verified_file

    path, _ = verified_file(models_dir, ENTRY_NAME)
    try:
        return FusionModel.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"Model weights {path} cannot be read: {exc}.") from exc
