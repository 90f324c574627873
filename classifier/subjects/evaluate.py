"""Accuracy of the subject classifier on a labelled folder, image only (no title or description).

    python -m classifier.subjects.evaluate DIR [--subjects ads/subjects.yaml] [--json]

DIR holds images and a ``labels.csv`` with at least the columns ``file`` and ``subject``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from classifier.subjects.classifier import SubjectClassifier
from classifier.subjects.taxonomy import DEFAULT_TAXONOMY, load_subjects


@dataclass
class Report:
    images: int = 0
    top1: float = 0.0
    top3: float = 0.0
    seconds_per_image: float = 0.0
    per_subject_top1: dict[str, float] = field(default_factory=dict)
    confusions: list[str] = field(default_factory=list)  # most frequent "truth -> predicted"


def evaluate(folder: Path, classifier: SubjectClassifier) -> Report:
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as fh:
        rows = [(r["file"], r["subject"]) for r in csv.DictReader(fh)]
    hits1 = hits3 = 0
    per_total: Counter[str] = Counter()
    per_hit: Counter[str] = Counter()
    confusions: Counter[str] = Counter()
    started = time.perf_counter()
    for name, truth in rows:
        scores = classifier.score(classifier.embed(folder / name))
        top = scores.top_ids(3)
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
        seconds_per_image=(time.perf_counter() - started) / n,
        per_subject_top1={s: per_hit[s] / per_total[s] for s in sorted(per_total)},
        confusions=[f"{k} x{v}" for k, v in confusions.most_common(12)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--subjects", type=Path, default=DEFAULT_TAXONOMY)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not (args.folder / "labels.csv").is_file():
        print(f"{args.folder} has no labels.csv.", file=sys.stderr)
        return 2
    # OCR is off: the report is image-only by definition.
    report = evaluate(args.folder, SubjectClassifier(load_subjects(args.subjects)))
    if args.json:
        print(json.dumps(asdict(report)))
    else:
        print(f"{report.images} images: top-1 {report.top1:.1%}, top-3 {report.top3:.1%}, "
              f"{report.seconds_per_image * 1000:.0f} ms/image")
        for subject, acc in report.per_subject_top1.items():
            print(f"  {subject:12s} {acc:.0%}")
        print("  most common confusions: " + ", ".join(report.confusions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
