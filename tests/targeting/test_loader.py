"""Loading rule files: every mistake is reported at its FILE:LINE:COLUMN; the fuzzer never crashes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from targeting_helpers import PARIS

from signage.cli.rules import rule_schema_json
from signage.targeting.loader import load_rules, parse_rule_text
from signage.yamlconf import ConfigError

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
dayparts:
  breakfast: "07:00-10:30"
rules:
  - id: coffee
    dayparts: [breakfast]
    play: {campaigns: [morning-coffee]}
"""

# (file text, expected line, expected column, words in the message)
ERROR_CASES = [
    ("rules:\n  - id: a\n    play: {ads: [x]\n  - id: b\n", 4, 3, "YAML syntax error"),
    ("rules:\n  - id: a\n    play: {ads: [x]}\n    tier: high\n", 4, 11, "integer"),
    ("rules:\n  - id: a\n    play: {ads: [x]}\n    wieght: 2\n", 4, 5, "unknown key"),
    ("rules:\n  - id: a\n    audience: {age: [teen]}\n    play: {ads: [x]}\n", 3, 22, "under-18"),
    ("rules:\n  - id: a\n    audience:\n      age: child\n    play: {ads: [x]}\n", 4, 12, "under-18"),
    ('rules:\n  - id: a\n    times: ["9:00-8:61"]\n    play: {ads: [x]}\n', 3, 13, "not a valid time"),
    ('rules:\n  - id: a\n    times: "10:00-10:00"\n    play: {ads: [x]}\n', 3, 12, "empty"),
    ("rules:\n  - id: a\n    days: [mon, someday]\n    play: {ads: [x]}\n", 3, 17, "unknown day"),
    ("rules:\n  - id: a\n    dayparts: [brunch]\n    play: {ads: [x]}\n", 3, 16, "unknown daypart 'brunch'"),
    (
        "rules:\n  - id: a\n    play: {ads: [x]}\n  - id: a\n    play: {ads: [y]}\n",
        4,
        9,
        "already used on line 2",
    ),
    ("rules:\n  - id: a\n    play: {}\n", 3, 11, "say what to play"),
    ("rules:\n  - id: a\n", 2, 5, "required key is missing (rules[0].play)"),
    (
        "rules:\n  - id: a\n    play: {ads: [x]}\n    audience: {present: {min: 3, max: 1}}\n",
        4,
        25,
        "below min",
    ),
    (
        "rules:\n  - id: a\n    play: {ads: [x]}\n    dates: {from: 2026-12-01, until: 2026-11-01}\n",
        4,
        12,
        "before",
    ),
    ("caps:\n  ads:\n    x: {}\n", 3, 8, "per_hour, per_day"),
    ("defaults: {min_confidence: 0.3}\n", 1, 28, "greater than or equal to 0.5"),
    ("- just\n- a list\n", 1, 1, "mapping"),
    ("rules:\n  - id: a\n    play: {ads: [x]}\n    weight: 0\n", 4, 13, "greater than 0"),
    (
        "rules:\n  - id: a\n    play: {ads: [x]}\n    dates: [{from: 2026-02-30}]\n",
        4,
        20,
        "'2026-02-30' is not a valid date or time: day is out of range for month (rules[0].dates[0].from)",
    ),
    ("rules:\n  - id: a\n    play: {ads: [x]}\n    tier: 1\n    tier: 2\n", 5, 5, "duplicate key 'tier'"),
    ("rules:\n  - id: a\n    play: {ads: [x]}\n    days: &d [mon, *d]\n", 4, 20, "recursive alias"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), ERROR_CASES)
def test_errors_are_located(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rule_text(text, "store.yaml")
    first = caught.value.findings[0]
    assert (first.file, first.line, first.column) == ("store.yaml", line, column), str(first)
    assert words in str(first)


def test_good_file_loads_and_compiles(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    loaded = load_rules([path], PARIS)
    assert [r.rule_id for r in loaded.rules] == ["coffee"]
    assert loaded.rules[0].windows == ((420, 630),)


def test_errors_of_several_files_are_all_reported_and_duplicates_across_files_refused(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    a.write_text(GOOD)
    b.write_text("rules: [{id: x, play: {ads: [y]}, tier: -1}]\n")
    c.write_text("rules: [{id: y, play: {ads: [y]}, tierr: 1}]\n")
    with pytest.raises(ConfigError) as caught:
        load_rules([a, b, c])
    assert {f.file for f in caught.value.findings} == {str(b), str(c)}
    b.write_text(GOOD)
    with pytest.raises(ConfigError, match="already used in"):
        load_rules([a, b])


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"rules: [\xff\xfe]\n")
    with pytest.raises(ConfigError) as caught:
        load_rules([tmp_path / "none.yaml", bad])
    messages = [f.message for f in caught.value.findings]
    assert messages == ["file not found", "file is not UTF-8 text"]


def test_disabled_rules_do_not_compile() -> None:
    _, spec = parse_rule_text(GOOD.replace("    dayparts", "    enabled: false\n    dayparts"), "r.yaml")
    assert spec.rules[0].enabled is False


def test_shipped_tables_and_examples_load() -> None:
    files = [REPO / "rules" / "store.yaml", *sorted((REPO / "rules" / "examples").glob("*.yaml"))]
    assert len(files) >= 4
    for path in files:
        assert load_rules([path], PARIS).rules, path


def test_schema_json_is_current() -> None:
    committed = (REPO / "rules" / "schema.json").read_text(encoding="utf-8")
    assert committed == rule_schema_json(), "run: signage rules schema -o rules/schema.json"
    schema = json.loads(committed)
    assert "rules" in schema["properties"]


# --- fuzzing: generated and mutated YAML never crashes the loader -------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["07:00-10:30", "25:00-1", "mon", "weekdays", "female", "child", "25-34", "happy", "x"]),
    st.text(max_size=8),
)
_KEYS = st.sampled_from(
    ["rules", "id", "play", "ads", "campaigns", "subjects", "tier", "weight", "audience", "age", "gender",
     "emotion", "days", "dayparts", "times", "dates", "from", "until", "caps", "ad", "campaign", "per_hour",
     "per_day", "min_gap_s", "defaults", "fallback", "present", "watching", "group", "people", "bogus"]
)  # fmt: skip
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)),
    max_leaves=15,
)


def _assert_loads_or_locates(text: str) -> None:
    try:
        parse_rule_text(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.findings, "a refused file must say why"
        lines = text.count("\n") + 2
        for f in exc.findings:
            assert f.file == "fuzz.yaml" and 1 <= f.line <= lines and f.column >= 1 and f.message


def _generated(tree: dict[str, object]) -> None:
    _assert_loads_or_locates(yaml.safe_dump(tree, default_flow_style=False, allow_unicode=True))


_DOCS = st.dictionaries(_KEYS, _TREES, max_size=5)
test_fuzz_generated_documents = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)(given(_DOCS)(_generated))
test_fuzz_generated_documents_long = pytest.mark.slow(
    settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])(
        given(_DOCS)(_generated)
    )
)


_SEED = (REPO / "rules" / "store.yaml").read_text(encoding="utf-8")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(_SEED) - 1),
            st.integers(0, 6),
            st.sampled_from(
                [
                    "",
                    ":",
                    "-",
                    " ",
                    "\n",
                    "  ",
                    "[",
                    "]",
                    "{",
                    "}",
                    "'",
                    '"',
                    "&a",
                    "*a",
                    "!!",
                    "\t",
                    "#",
                    ",",
                    "child",
                    "99",
                    "%",
                    "\x00",
                    "é",
                ]
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_fuzz_mutated_shipped_table(edits: list[tuple[int, int, str]]) -> None:
    text = _SEED
    for at, cut, insert in edits:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + cut :]
    _assert_loads_or_locates(text)


def test_self_referencing_alias_and_deep_nesting_get_a_located_error() -> None:
    cases = (
        ("a: &x [*x]\n", 1, 8, "recursive alias"),
        ("rules: " + "[" * 5000 + "]" * 5000 + "\n", 1, None, "nest"),  # libyaml's limit or ours
        ("rules:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 100)), 33, 67, "64 levels deep"),
    )
    for text, line, column, words in cases:
        with pytest.raises(ConfigError) as caught:
            parse_rule_text(text, "evil.yaml")
        (finding,) = caught.value.findings
        assert (finding.file, finding.line) == ("evil.yaml", line), str(finding)
        assert column is None or finding.column == column, str(finding)
        assert words in finding.message


def test_an_alias_bomb_in_a_rule_file_is_refused_at_the_alias_that_overflows() -> None:
    bomb = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 9)
    )
    with pytest.raises(ConfigError) as caught:
        parse_rule_text(bomb + GOOD, "bomb.yaml")
    (finding,) = caught.value.findings
    # l3 would hold 10,000 strings: the budget runs out there, nothing below is read or expanded
    assert finding.line == 4 and "the alias *l2 expands too much" in finding.message


def test_anchors_and_merges_within_the_budget_still_work() -> None:
    text = """\
audiences:
rules:
  - id: a
    audience: &women {gender: female, min_confidence: 0.7}
    play: {ads: [x]}
  - id: b
    audience: *women
    play: {ads: [y]}
  - id: c
    audience: {<<: *women, gender: male}
    play: {ads: [z]}
"""
    _, spec = parse_rule_text(text.replace("audiences:\n", ""), "r.yaml")
    assert spec.rules[0].audience == spec.rules[1].audience
    assert spec.rules[2].audience is not None and spec.rules[2].audience.min_confidence == 0.7
