"""Zero-shot scoring: pure functions from embeddings to subject distributions (no I/O, no model).

The image model speaks ImageNet's 1000 classes; the subjects are described in words. Both sides are
text, so the sentence model decides how much each class belongs to each subject (``class_affinity``),
and a picture's subject scores are its class probabilities pushed through that matrix. Ad text (title,
description, on-screen text) is compared with the subject phrases directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from classifier.subjects.types import Subject

# Softmax temperature over cosine similarities: MiniLM similarities of related phrases differ by a
# few hundredths, so a small temperature is needed for a decisive split.
CLASS_TEMPERATURE = 0.04
TEXT_TEMPERATURE = 0.05
# Classes whose best subject similarity is below this are mostly background (a tench, a volcano
# for a taxonomy without travel) and count less.
RELEVANCE_FLOOR = 0.25
RELEVANCE_WIDTH = 0.05
# ImageNet classes per frame that vote (see keep_top_classes).
TOP_CLASSES = 5


def subject_phrases(subject: Subject) -> list[str]:
    """The whole description, its heading and each listed item: a class matches its closest phrase."""
    text = " ".join(subject.description.split())
    heading, _, rest = text.partition(":")
    items = [p.strip(" .") for p in re.split(r"[,;]| and | or ", rest or heading) if p.strip(" .")]
    phrases = [text, heading.strip(), subject.subject_id.replace("-", " ").replace("_", " "), *items]
    return list(dict.fromkeys(p for p in phrases if p))


@dataclass(frozen=True)
class PhraseIndex:
    """Which rows of a phrase-embedding matrix belong to which subject."""

    subject_ids: tuple[str, ...]
    owners: np.ndarray  # phrase row -> subject column

    @classmethod
    def build(cls, subjects: tuple[Subject, ...]) -> tuple[PhraseIndex, list[str]]:
        texts: list[str] = []
        owners: list[int] = []
        for column, subject in enumerate(subjects):
            phrases = subject_phrases(subject)
            texts += phrases
            owners += [column] * len(phrases)
        return cls(tuple(s.subject_id for s in subjects), np.asarray(owners)), texts


def subject_similarity(queries: np.ndarray, phrases: np.ndarray, index: PhraseIndex) -> np.ndarray:
    """Q x S: for each query, the mean of its best phrase match and its match to the whole description.

    The best single phrase catches the specific item ("burgers" for a cheeseburger); the whole
    description keeps a stray one-word phrase from dominating.
    """
    sims = queries @ phrases.T  # rows are unit length: cosine similarity
    out = np.full((queries.shape[0], len(index.subject_ids)), -1.0, np.float32)
    whole = np.zeros_like(out)
    for column in range(len(index.subject_ids)):
        rows = np.flatnonzero(index.owners == column)
        out[:, column] = sims[:, rows].max(axis=1)
        whole[:, column] = sims[:, rows[0]]
    return 0.5 * (out + whole)


def softmax(x: np.ndarray, temperature: float, axis: int = -1) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def class_affinity(class_vectors: np.ndarray, phrases: np.ndarray, index: PhraseIndex) -> np.ndarray:
    """1000 x S: how much each ImageNet class says about each subject (rows sum to <= 1)."""
    sim = subject_similarity(class_vectors, phrases, index)
    share = softmax(sim, CLASS_TEMPERATURE, axis=1)
    best = sim.max(axis=1, keepdims=True)
    relevance = 1.0 / (1.0 + np.exp(-(best - RELEVANCE_FLOOR) / RELEVANCE_WIDTH))
    return (share * relevance).astype(np.float32)


def normalise(vector: np.ndarray) -> np.ndarray:
    total = float(vector.sum())
    if total <= 1e-12:
        return np.full_like(vector, 1.0 / len(vector))
    return vector / total


def keep_top_classes(probs: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` most likely classes, renormalised.

    The long tail of a 1000-way softmax is noise, and summed over hundreds of classes it favours
    subjects that happen to own many ImageNet classes (home owns a hundred objects) over what the
    picture shows.
    """
    if k <= 0 or k >= probs.shape[-1]:
        return probs
    out = np.zeros_like(probs)
    top = np.argpartition(-probs, k)[:k]
    out[top] = probs[top]
    return out / max(float(out.sum()), 1e-12)


def image_scores(
    imagenet_probs: np.ndarray, affinity: np.ndarray, top_classes: int = TOP_CLASSES
) -> np.ndarray:
    """S subject probabilities from one frame's ImageNet probabilities."""
    return normalise(keep_top_classes(imagenet_probs, top_classes) @ affinity)


def text_scores(text_vector: np.ndarray, phrases: np.ndarray, index: PhraseIndex) -> np.ndarray:
    return softmax(subject_similarity(text_vector[None, :], phrases, index)[0], TEXT_TEMPERATURE)


def combine(image: np.ndarray, text: np.ndarray | None, text_weight: float) -> np.ndarray:
    """Linear pool of the two opinions; with no text the picture decides alone."""
    if text is None or text_weight <= 0.0:
        return image
    return normalise((1.0 - text_weight) * image + text_weight * text)
