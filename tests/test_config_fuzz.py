"""Mutated settings, catalogs and rule tables through the real loaders: the only outcomes are
success or a located ConfigError, and no file hangs (a 5 s timer per file).

The same mutator runs 2,000 files per kind in ``bench/fuzz_config.py``.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from signage.testing.fuzz import KINDS, TEXT_MUTATIONS, FuzzCase, corpus, generate, seeds
from signage.testing.fuzzrun import FILE_NAMES, ConfigLoaders, run_case, summarize

PER_KIND = 100


@pytest.fixture(scope="module")
def loaders() -> ConfigLoaders:
    return ConfigLoaders()


@pytest.mark.parametrize("kind", KINDS)
def test_the_seed_files_load(kind: str, loaders: ConfigLoaders, tmp_path: Path) -> None:
    for i, text in enumerate(seeds(kind)):
        outcome = run_case(loaders, FuzzCase(kind, i, text.encode(), "seed"), tmp_path)
        assert outcome.status == "ok", outcome.detail


@pytest.mark.parametrize("kind", KINDS)
def test_fuzzed_files_load_or_give_a_located_config_error(
    kind: str, loaders: ConfigLoaders, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # mutated catalogs name missing media: warnings, expected
    outcomes = [run_case(loaders, case, tmp_path, limit_s=5.0) for case in corpus(kind, PER_KIND, seed=7)]
    bad = [o for o in outcomes if o.status not in ("ok", "config_error")]
    assert not bad, "\n\n".join(f"{o.status}: {o.case.what}\n{o.detail}" for o in bad[:3])
    path = str(tmp_path / FILE_NAMES[kind])
    for o in outcomes:
        for f in o.findings:
            assert f.file == path and f.line >= 1 and f.column >= 1 and f.message, o.case.what
    (summary,) = summarize(outcomes)
    # the mutations reach both outcomes: files that still load and files that are refused
    assert summary.counts["ok"] > 0 and summary.counts["config_error"] > PER_KIND // 2


def test_the_mutator_is_seeded_and_every_mutation_changes_the_file() -> None:
    assert [c.data for c in corpus("rules", 20, seed=3)] == [c.data for c in corpus("rules", 20, seed=3)]
    assert [c.data for c in corpus("rules", 20, seed=3)] != [c.data for c in corpus("rules", 20, seed=4)]
    rng = random.Random(0)
    for kind in KINDS:
        seed = seeds(kind)[0]
        for mutation in TEXT_MUTATIONS:
            changed = any(mutation(seed, rng, kind)[0] != seed for _ in range(5))
            assert changed, f"{mutation.__name__} never changed a {kind} file"


def test_the_mutator_makes_the_files_the_fault_probe_found() -> None:
    cases = [generate(kind, random.Random(i), i) for kind in KINDS for i in range(600)]
    text = "\n".join(c.what for c in cases)
    for words in (
        "alias bomb",
        "recursive alias",
        "2026-02-30",
        "repeated",
        "levels deep",
        "non-UTF-8",
        "tab",
    ):
        assert words in text, words
