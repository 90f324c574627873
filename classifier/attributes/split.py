"""Materialise the seeded UTKFace split as a folder of symlinks, so ``signage evaluate`` can be pointed at
exactly the faces that training never saw::

    python -m classifier.attributes.split --utkface /tmp/data/UTKFace --out /tmp/utk_test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from classifier.attributes.datasets import SEED, list_utkface, split_utkface


def materialise(utkface: Path, out: Path, part: str = "test", seed: int = SEED) -> int:
    samples = list_utkface(utkface)
    split = split_utkface(samples, seed)
    indices = {"test": split.test, "calibration": split.calibration, "train": split.train}[part]
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_symlink():
            old.unlink()
    for i in indices:
        (out / samples[i].path.name).symlink_to(samples[i].path.resolve())
    return len(indices)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utkface", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--part", choices=("test", "calibration", "train"), default="test")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    n = materialise(args.utkface, args.out, args.part, args.seed)
    print(f"{n} UTKFace {args.part} images linked into {args.out}")


if __name__ == "__main__":
    main()
