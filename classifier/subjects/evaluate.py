"""Accuracy of the subject classifier on a labelled folder, image only (no title or description).

    python -m classifier.subjects.evaluate DIR [--subjects ads/subjects.yaml] [--json] [--with-head]

DIR holds images and a ``labels.csv`` with at least the columns ``file`` and ``subject``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from classifier.subjects.classifier import SubjectClassifier
from classifier.subjects.head import Example, SubjectHead, fit_head
from classifier.subjects.taxonomy import DEFAULT_TAXONOMY, load_subjects
from classifier.subjects.types import MediaEmbedding


@dataclass
class Report:
    images: int = 0
    top1: float = 0.0
    top3: float = 0.0
    seconds_per_image: float = 0.0
    per_subject_top1: dict[str, float] = field(default_factory=dict)
    confusions: list[str] = field(default_factory=list)  # most frequent "truth -> predicted"


def _score_all(
    classifier: SubjectClassifier, embeddings: list[MediaEmbedding], heads: list[SubjectHead | None]
) -> list[tuple[str, ...]]:
    return [classifier.score(e, head=h).top_ids(3) for e, h in zip(embeddings, heads, strict=True)]


def _report(rows: list[tuple[str, str]], tops: list[tuple[str, ...]], seconds: float) -> Report:
    per_total: Counter[str] = Counter()
    per_hit: Counter[str] = Counter()
    confusions: Counter[str] = Counter()
    hits1 = hits3 = 0
    for (_, truth), top in zip(rows, tops, strict=True):
        per_total[truth] += 1
        if top[0] == truth:
            hits1 += 1
            per_hit[truth] += 1
        else:
            confusions[f"{truth} -> {top[0]}"] += 1
        hits3 += truth in top
    n = max(1, len(rows))
    return Report(
        images=len(rows),
        top1=hits1 / n,
        top3=hits3 / n,
        seconds_per_image=seconds / n,
        per_subject_top1={s: per_hit[s] / per_total[s] for s in sorted(per_total)},
        confusions=[f"{k} x{v}" for k, v in confusions.most_common(12)],
    )


def evaluate(folder: Path, classifier: SubjectClassifier, *, with_head: bool = False) -> dict[str, Report]:
    """Zero-shot accuracy; with ``with_head`` also 2-fold accuracy when the other half's labels are
    given to the learned head as if a person had confirmed them (what a store's own labels buy)."""
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as fh:
        rows = [(r["file"], r["subject"]) for r in csv.DictReader(fh)]
    started = time.perf_counter()
    embeddings = [classifier.embed(folder / name) for name, _ in rows]
    seconds = time.perf_counter() - started
    reports = {"zero_shot": _report(rows, _score_all(classifier, embeddings, [None] * len(rows)), seconds)}
    if with_head:
        # Deterministic folds from the file name, so the split does not depend on row order.
        fold = [int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 for name, _ in rows]
        heads: list[SubjectHead | None] = []
        trained = {
            f: fit_head(
                [
                    Example(e.features, (s,))
                    for e, (_, s), g in zip(embeddings, rows, fold, strict=True)
                    if g != f
                ]
            )
            for f in (0, 1)
        }
        heads = [trained[g] for g in fold]
        reports["with_head_2fold"] = _report(rows, _score_all(classifier, embeddings, heads), seconds)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--subjects", type=Path, default=DEFAULT_TAXONOMY)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--with-head",
        action="store_true",
        help="also 2-fold accuracy with the learned head trained on the other half's labels",
    )
    args = parser.parse_args(argv)
    if not (args.folder / "labels.csv").is_file():
        print(f"{args.folder} has no labels.csv.", file=sys.stderr)
        return 2
    # OCR is off: the report is image-only by definition.
    reports = evaluate(args.folder, SubjectClassifier(load_subjects(args.subjects)), with_head=args.with_head)
    if args.json:
        print(json.dumps({name: asdict(r) for name, r in reports.items()}))
        return 0
    for name, report in reports.items():
        print(
            f"{name}: {report.images} images: top-1 {report.top1:.1%}, top-3 {report.top3:.1%}, "
            f"{report.seconds_per_image * 1000:.0f} ms/image"
        )
        for subject, acc in report.per_subject_top1.items():
            print(f"  {subject:12s} {acc:.0%}")
        print("  most common confusions: " + ", ".join(report.confusions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
