"""Fuzz the three config files people edit (settings, catalog, rules) through the real loaders.

Each mutated file (signage.testing.fuzz) is loaded the way the player and the CLI load it; the
only acceptable outcomes are success and a located ConfigError, each within the hang limit.
Prints per kind: files, ok, config errors, tracebacks, hangs, the slowest file; then one example
of each distinct traceback. ``--save DIR`` keeps every failing file with what was done to it.

    .venv/bin/python bench/fuzz_config.py --count 2000
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signage.testing.fuzz import KINDS, FuzzCase, corpus, seeds
from signage.testing.fuzzrun import ConfigLoaders, Outcome, run_case, summarize


def _signature(outcome: Outcome) -> str:
    lines = [line for line in outcome.detail.strip().splitlines() if line.strip()]
    where = next((line.strip() for line in reversed(lines) if line.strip().startswith("File ")), "")
    return f"{lines[-1] if lines else outcome.status} @ {where}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="files per kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--limit-s", type=float, default=5.0, help="a file still loading after this hangs")
    parser.add_argument("--save", type=Path, help="write each failing file (and what was done) here")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # skipped media in mutated catalogs: expected, and noisy

    loaders = ConfigLoaders()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="fuzz-config-") as tmp:
        for kind in args.kinds:  # warm up: the first load of a kind imports its modules
            run_case(loaders, FuzzCase(kind, -1, seeds(kind)[0].encode(), "seed"), Path(tmp))
        for kind in args.kinds:
            for case in corpus(kind, args.count, args.seed):
                outcomes.append(run_case(loaders, case, Path(tmp), args.limit_s))

    print(f"seed {args.seed}, {args.count} files per kind, hang limit {args.limit_s:.0f} s")
    print(
        f"{'kind':<10}{'files':>7}{'ok':>7}{'config errors':>15}{'tracebacks':>12}{'hangs':>7}{'max s/file':>12}"
    )
    for s in summarize(outcomes):
        c = s.counts
        print(
            f"{s.kind:<10}{s.files:>7}{c['ok']:>7}{c['config_error']:>15}{c['traceback']:>12}"
            f"{c['hang']:>7}{s.max_s:>12.3f}"
        )
    for kind in args.kinds:
        slowest = max((o for o in outcomes if o.case.kind == kind), key=lambda o: o.seconds)
        print(
            f"slowest {kind}: {slowest.seconds:.3f} s, case {slowest.case.index}: {slowest.case.what[:100]}"
        )
    failures = [o for o in outcomes if o.status in ("traceback", "hang")]
    seen: dict[str, Outcome] = {}
    for outcome in failures:
        seen.setdefault(f"{outcome.case.kind}: {_signature(outcome)}", outcome)
    for signature, outcome in seen.items():
        print(f"\n{signature}\n  case {outcome.case.index}: {outcome.case.what}")
    if args.save and failures:
        args.save.mkdir(parents=True, exist_ok=True)
        for outcome in failures:
            stem = args.save / f"{outcome.case.kind}-{outcome.case.index:05d}"
            stem.with_suffix(".yaml").write_bytes(outcome.case.data)
            stem.with_suffix(".txt").write_text(
                f"{outcome.case.what}\n\n{outcome.detail}\n", encoding="utf-8"
            )
        print(f"\n{len(failures)} failing file(s) written to {args.save}")


if __name__ == "__main__":
    main()
