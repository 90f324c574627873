"""Fit the subject scorer's learned parts on labelled ads and pin them in ``models/``.

    python -m classifier.subjects.train DIR --labels train.csv --out models/ [--held-out test.csv]

Fits, on the training labels only: the learned head (picture + on-screen-text embeddings -> subject),
the weight of each signal, and the temperature. Out-of-fold predictions keep each fit honest: the
signal weights see head outputs for ads the head was not trained on, and the temperature sees
logits of ads neither was fitted on (nested cross-validation). Folds are grouped by brand when the
labels have a ``brand`` column, so the figures are for brands the fit never saw, as on a new store's
catalog. The head's L2 strength is chosen the same way, from a short grid. ``--held-out`` only measures the result afterwards and records it in the
manifest; nothing is selected on it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from classifier.attributes.manifest import sha256_of, write_entry
from classifier.subjects.cache import EvidenceStore
from classifier.subjects.cache import sha256_of as media_sha
from classifier.subjects.classifier import Evidence, SubjectClassifier, head_input, screen_text
from classifier.subjects.evaluate import LabelledItem, Prediction, evaluate, load_items
from classifier.subjects.fusion import (
    ENTRY_NAME,
    FILE_NAME,
    SIGNALS,
    FusionModel,
    LinearHead,
    fit_linear_head,
    fit_temperature,
    fit_weights,
    softmax,
)
from classifier.subjects.ocr import OcrEngine
from classifier.subjects.split import group_key, read_labels
from classifier.subjects.taxonomy import load_subjects
from classifier.subjects.text import default_cache_dir

log = logging.getLogger(__name__)

SEED = 20261201
FOLDS = 5
L2_GRID = (0.01, 0.05, 0.2)


@dataclass(frozen=True)
class Rows:
    base: np.ndarray  # N x S x 3: image, screen_text, screen_words
    x: np.ndarray  # N x D head inputs
    labels: list[tuple[str, ...]]
    truths: list[list[int]]
    groups: list[str] = field(default_factory=list)  # brand (or file) per row: one brand, one fold


def folds_of(n: int, k: int, seed: int, groups: Sequence[str] = ()) -> np.ndarray:
    """Fold number per row; with ``groups``, every row of a group in one fold (biggest groups first,
    each to the emptiest fold, ties in a seeded order), so folds stay near equal in size."""
    if not groups:
        order = np.random.default_rng(seed).permutation(n)
        out = np.empty(n, int)
        out[order] = np.arange(n) % k
        return out
    names = sorted(set(groups))
    np.random.default_rng(seed).shuffle(names)
    sizes = {g: list(groups).count(g) for g in names}
    names.sort(key=lambda g: -sizes[g])  # stable: the seeded order breaks ties
    load, fold_of = [0] * k, {}
    for g in names:
        f = int(np.argmin(load))
        fold_of[g] = f
        load[f] += sizes[g]
    return np.array([fold_of[g] for g in groups], int)


def learned_signal(head: LinearHead, x: np.ndarray, subject_ids: Sequence[str]) -> np.ndarray:
    return np.stack([head.signal(row, subject_ids) for row in x])


def out_of_fold_learned(
    rows: Rows, index: np.ndarray, subject_ids: Sequence[str], l2: float, seed: int
) -> np.ndarray:
    """Learned-head signal for rows ``index``, each from a head trained on the other folds."""
    out = np.zeros((len(index), len(subject_ids)), np.float32)
    groups = [rows.groups[i] for i in index] if rows.groups else []
    fold = folds_of(len(index), min(FOLDS, len(set(groups)) if groups else len(index)), seed, groups)
    for f in range(fold.max() + 1):
        train = index[fold != f]
        if len({s for i in train for s in rows.labels[i]}) < 2:
            continue
        head = fit_linear_head(rows.x[train], [rows.labels[i] for i in train], l2=l2)
        out[fold == f] = learned_signal(head, rows.x[index[fold == f]], subject_ids)
    return out


def features(rows: Rows, index: np.ndarray, learned: np.ndarray) -> list[np.ndarray]:
    return [np.concatenate([rows.base[i], learned[j][:, None]], axis=1) for j, i in enumerate(index)]


def fit_parts(
    rows: Rows, index: np.ndarray, subject_ids: Sequence[str], l2: float
) -> tuple[np.ndarray, LinearHead]:
    learned = out_of_fold_learned(rows, index, subject_ids, l2, SEED + 1)
    weights = fit_weights(features(rows, index, learned), [rows.truths[i] for i in index])
    head = fit_linear_head(rows.x[index], [rows.labels[i] for i in index], l2=l2)
    return weights, head


def cross_validated_logits(rows: Rows, subject_ids: Sequence[str], l2: float) -> list[np.ndarray]:
    """Logits of every row from weights and a head fitted without its fold (outer loop)."""
    n = len(rows.labels)
    fold = folds_of(n, FOLDS, SEED, rows.groups)
    logits: list[np.ndarray] = [np.zeros(0)] * n
    for f in range(FOLDS):
        inner, outer = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        weights, head = fit_parts(rows, inner, subject_ids, l2)
        learned = learned_signal(head, rows.x[outer], subject_ids)
        for j, i in enumerate(outer):
            logits[i] = np.concatenate([rows.base[i], learned[j][:, None]], axis=1) @ weights
    return logits


def cv_metrics(
    logits: Sequence[np.ndarray], truths: Sequence[Sequence[int]], temperature: float
) -> dict[str, float]:
    nll, top1, top3 = 0.0, 0, 0
    for z, right in zip(logits, truths, strict=True):
        p = softmax(z / temperature)
        order = np.argsort(-p)
        nll -= float(np.log(max(p[list(right)].sum(), 1e-12)))
        top1 += int(order[0] in right)
        top3 += int(bool(set(order[:3].tolist()) & set(right)))
    n = max(1, len(truths))
    return {"nll": nll / n, "top1": top1 / n, "top3": top3 / n}


def gather(
    classifier: SubjectClassifier, folder: Path, items: Sequence[LabelledItem], store: EvidenceStore
) -> list[Evidence]:
    out = []
    for i, item in enumerate(items):
        path = folder / item.file
        sha = media_sha(path)
        evidence = store.get(sha)
        if evidence is None:
            evidence = classifier.evidence(path)
            store.put(sha, evidence)
        log.info("%d/%d %s: %d text lines", i + 1, len(items), item.file, len(evidence.lines))
        out.append(evidence)
    return out


def build_rows(
    classifier: SubjectClassifier,
    evidence: Sequence[Evidence],
    items: Sequence[LabelledItem],
    groups: Sequence[str] = (),
) -> Rows:
    ids = classifier.subject_ids
    base, xs, truths = [], [], []
    for e, item in zip(evidence, items, strict=True):
        unknown = [s for s in item.subjects if s not in ids]
        if unknown:
            raise ValueError(f"{item.file}: subject {unknown[0]!r} is not in the taxonomy.")
        signals, _ = classifier.signals(e)
        base.append(np.stack([signals[s] for s in SIGNALS[:3]], axis=1))
        text = screen_text(e.lines)
        vector = classifier.text_vector(text)
        xs.append(head_input(e.embedding, vector))
        truths.append([ids.index(s) for s in item.subjects])
    return Rows(np.stack(base), np.stack(xs), [it.subjects for it in items], truths, list(groups))


def train(classifier: SubjectClassifier, rows: Rows) -> tuple[FusionModel, dict[str, object]]:
    ids = classifier.subject_ids
    by_l2 = {}
    for l2 in L2_GRID:
        logits = cross_validated_logits(rows, ids, l2)
        temperature = fit_temperature(logits, rows.truths)
        by_l2[l2] = (cv_metrics(logits, rows.truths, temperature), temperature)
        log.info("head l2 %.3f: cross-validated %s, temperature %.2f", l2, by_l2[l2][0], temperature)
    l2 = min(L2_GRID, key=lambda v: by_l2[v][0]["nll"])
    metrics, temperature = by_l2[l2]
    weights, head = fit_parts(rows, np.arange(len(rows.labels)), ids, l2)
    info = {"head_l2": l2, "cross_validated": metrics}
    return FusionModel(dict(zip(SIGNALS, weights.tolist(), strict=True)), temperature, head, info), {
        "l2": l2,
        "temperature": temperature,
        "cross_validated": metrics,
        "weights": dict(zip(SIGNALS, [round(float(w), 4) for w in weights], strict=True)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--labels", type=Path, required=True, help="the training part's labels.csv")
    parser.add_argument("--out", type=Path, required=True, help="models folder (weights + manifest.yaml)")
    parser.add_argument("--held-out", type=Path, help="labels measured after training and recorded")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-note", default="", help="where the labelled ads came from, for the manifest")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    classifier = SubjectClassifier(load_subjects(), ocr=OcrEngine(args.threads))
    store = EvidenceStore(default_cache_dir(), classifier.variant)
    items = load_items(args.labels)
    groups = [group_key(r) for r in read_labels(args.labels)]
    rows = build_rows(classifier, gather(classifier, args.folder, items, store), items, groups)
    model, summary = train(classifier, rows)
    args.out.mkdir(parents=True, exist_ok=True)
    weights_path = args.out / FILE_NAME
    model.save(weights_path)
    entry: dict[str, object] = {
        "file": FILE_NAME,
        "sha256": sha256_of(weights_path),
        "bytes": weights_path.stat().st_size,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": (
            "fusion of per-subject signals with learned weights: ImageNet EfficientNet-Lite0 zero-shot "
            "(class names -> subject descriptions via all-MiniLM-L6-v2), OCR text (RapidOCR PP-OCRv6) "
            "similarity to subject descriptions, character-trigram matches of OCR text against "
            "classifier/subjects/vocabulary.yaml, and a softmax head on [image features 1280 ; OCR text "
            "embedding 384]; temperature-calibrated"
        ),
        "subjects": list(model.head.subject_ids) if model.head else [],
        "signal_weights": summary["weights"],
        "temperature": summary["temperature"],
        "data": {
            "training_labels": str(args.labels),
            "n_train": len(items),
            "note": args.data_note,
        },
        "training": {
            "seed": SEED,
            "folds": FOLDS,
            "folds_grouped_by": "brand" if any(g.startswith("brand:") for g in groups) else "file",
            "head_l2": summary["l2"],
            "command": "python -m classifier.subjects.train "
            + " ".join(sys.argv[1:] if argv is None else argv),
        },
        "metrics": {"training_cross_validated": summary["cross_validated"]},
    }
    if args.held_out:
        loaded = SubjectClassifier(load_subjects(), model=model, ocr=OcrEngine(args.threads))

        def predict(path: Path) -> Prediction:
            sha = media_sha(path)
            evidence = store.get(sha) or loaded.evidence(path)
            result = loaded.score(evidence)
            return Prediction(result.scores, result.abstains())

        report = evaluate(args.folder, predict, labels=args.held_out)
        held = report.to_dict(with_items=False)
        held.pop("confusion")
        entry["metrics"] = {**entry["metrics"], "held_out_test": {**held, "labels": str(args.held_out)}}  # type: ignore[dict-item]
    write_entry(args.out, ENTRY_NAME, entry)
    print(json.dumps(summary))
    print(f"wrote {weights_path} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
