"""A fixed, seeded split of a labelled ad folder into a training part and a held-out part.

    python -m classifier.subjects.split LABELS.csv --out DIR [--seed 20261201] [--held-out 0.4]

Writes ``DIR/train.csv`` and ``DIR/test.csv`` (same columns as the input). The split is stratified
by subject (the first one a row lists) and grouped by brand when the file has a ``brand`` column:
every ad of one brand lands on the same side, so the held-out figures are for brands the learned
part never saw, as on a new store's catalog. The split depends only on the rows and the seed (rows
are sorted by file name first), never on anything tuned.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_SEED = 20261201
HELD_OUT_FRACTION = 0.4


def label_subjects(value: str) -> tuple[str, ...]:
    """``"food|drinks"`` -> ``("food", "drinks")``: any listed subject counts as right."""
    return tuple(s.strip() for s in value.split("|") if s.strip())


def group_key(row: dict[str, str]) -> str:
    brand = re.sub(r"[^a-z0-9]+", " ", row.get("brand", "").lower()).strip()
    return f"brand:{brand}" if brand else f"file:{row['file']}"


def split_rows(
    rows: Sequence[dict[str, str]], *, seed: int = DEFAULT_SEED, held_out: float = HELD_OUT_FRACTION
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(train, test) rows; each subject with two or more ads has at least one on each side."""
    ordered = sorted(rows, key=lambda r: r["file"])
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in ordered:
        groups[group_key(row)].append(row)
    by_subject: dict[str, list[str]] = defaultdict(list)
    for key, members in groups.items():
        votes = Counter(label_subjects(m["subject"])[0] for m in members)
        by_subject[min(votes, key=lambda s: (-votes[s], s))].append(key)
    rng = np.random.default_rng(seed)
    test_keys: set[str] = set()
    for subject in sorted(by_subject):
        keys = sorted(by_subject[subject])
        rng.shuffle(keys)
        total = sum(len(groups[k]) for k in keys)
        want = max(1, round(total * held_out)) if total >= 2 else 0
        taken = 0
        for key in keys:
            if taken >= want:
                break
            if total - taken - len(groups[key]) < 1:
                continue  # it would leave this subject without a training ad
            test_keys.add(key)
            taken += len(groups[key])
    train = [r for r in ordered if group_key(r) not in test_keys]
    test = [r for r in ordered if group_key(r) in test_keys]
    return train, test


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [dict(r) for r in csv.DictReader(fh)]
    if rows and not {"file", "subject"} <= set(rows[0]):
        raise ValueError(f"{path} needs the columns 'file' and 'subject'.")
    return rows


def write_labels(path: Path, rows: Sequence[dict[str, str]]) -> None:
    fields = list(rows[0]) if rows else ["file", "subject"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--held-out", type=float, default=HELD_OUT_FRACTION)
    args = parser.parse_args(argv)
    train, test = split_rows(read_labels(args.labels), seed=args.seed, held_out=args.held_out)
    args.out.mkdir(parents=True, exist_ok=True)
    write_labels(args.out / "train.csv", train)
    write_labels(args.out / "test.csv", test)
    print(
        f"{len(train)} training rows -> {args.out / 'train.csv'}, {len(test)} held out -> {args.out / 'test.csv'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
