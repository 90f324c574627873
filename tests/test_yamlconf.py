"""The one YAML loading path: every parser and value problem is one located sentence, and the
parse is bounded (no recursion, an alias budget, no duplicate keys)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from signage import yamlsafe
from signage.yamlconf import ConfigError, Finding, parse_yaml, read_text

REPO = Path(__file__).resolve().parents[1]


def refused(text: str) -> Finding:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, "f.yaml")
    assert caught.value.findings, "a refused file must say why"
    return caught.value.findings[0]


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["lol"' + ', "lol"' * (width - 1) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_impossible_date_is_located_at_the_value_with_its_key() -> None:
    f = refused("rules:\n  - id: x\n    dates: [{from: 2026-02-30}]\n")
    assert (f.line, f.column, f.key) == (3, 20, "rules[0].dates[0].from")
    assert "'2026-02-30' is not a valid date or time: day is out of range for month" in f.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-13-01", "month must be in 1..12"),
        ("2026-11-21 25:00:00", "hour must be in 0..23"),
        ("!!int abc", "is not a valid whole number"),
        ("9" * 5000, "too many digits"),
        ("!!float x", "is not a valid number"),
        ("!!bool maybe", "is not a valid true/false value"),
        ("!!binary zzz", "is not a valid base64 binary value"),
        ("!!timestamp nope", "is not a valid date or time"),
        ("!foo 1", "the tag !foo cannot be used here"),
        ("!!python/object:os.system ls", "cannot be used here"),
        ("!!set {a, b}", "the tag !!set is not supported here"),
        ("<<", "only a key"),
    ],
)
def test_bad_scalars_and_tags_are_located_at_their_node(value: str, words: str) -> None:
    f = refused(f"screen_id: door\ncamera:\n  fps: {value}\n")
    assert (f.file, f.line, f.column, f.key) == ("f.yaml", 3, 8, "camera.fps"), str(f)
    assert words in f.message


def test_every_bad_value_is_listed_not_only_the_first() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: 2026-02-30\nb: !!int x\nc: ok\nd: 2026-04-31\n", "f.yaml")
    assert [(f.line, f.key) for f in caught.value.findings] == [(1, "a"), (2, "b"), (4, "d")]


def test_an_alias_bomb_is_refused_where_the_budget_runs_out() -> None:
    text = billion_laughs()
    assert len(text) < 600  # 9**9 = 387 million strings once expanded
    f = refused(text)
    assert "expands too much" in f.message and "*a3" in f.message
    assert f.line == 5  # the fifth level would pass 10,000 values: nothing beyond it is read
    # the same shape within the budget loads, and stays shared (one object per anchor)
    small = parse_yaml(billion_laughs(levels=3, width=9), "f.yaml").data
    assert len(small["a2"]) == 9 and small["a2"][0] is small["a2"][1]


def test_too_many_aliases_are_refused_even_when_each_is_small() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (yamlsafe.MAX_ALIASES + 1)) + "]\n"
    f = refused(text)
    assert f.line == 2 and "too many aliases" in f.message


@pytest.mark.parametrize(
    "text", ["a: &x [*x]\n", "a: &x {b: *x}\n", "a: &x\n  - 1\n  - [2, *x]\n", "a: &x {<<: *x}\n"]
)
def test_a_recursive_alias_is_refused_at_the_alias(text: str) -> None:
    f = refused(text)
    assert "*x refers to the value it is written in (a recursive alias)" in f.message
    assert f.line >= 1 and f.column > 1


def test_a_duplicate_key_is_located_at_the_second_key_and_names_it() -> None:
    f = refused("screen_id: a\ncamera:\n  fps: 10\n  width: 5\n  fps: 25\n")
    assert (f.line, f.column, f.key) == (5, 3, "camera.fps")
    assert f.message == "duplicate key 'fps': it is already set on line 3"
    f = refused("caps: {ads: {x: {per_hour: 1, per_hour: 2}}}\n")
    assert (f.line, f.key) == (1, "caps.ads.x.per_hour") and "duplicate key 'per_hour'" in f.message


def test_merge_keys_still_merge_and_explicit_keys_win() -> None:
    text = "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd:\n  <<: [*b, {z: 4}]\n"
    doc = parse_yaml(text, "f.yaml")
    assert (
        doc.data
        == yaml.safe_load(text)
        == {
            "base": {"x": 1, "y": 2},
            "c": {"x": 1, "y": 3},
            "d": {"x": 1, "y": 2, "z": 4},
        }
    )
    assert doc.locate(("c", "y")) == (4, 6)  # the explicit key, not the merged one
    assert doc.locate(("c", "x")) == (1, 14)  # a merged key points at where it is written
    assert "a merge key (<<) takes a mapping" in refused("a: {<<: 5}\n").message


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("a: b\nc: \x00\n", 2, 4, "#x0000 is not allowed"),
        ("é: b\nü\x07\n", 2, 2, "#x0007 is not allowed"),
        ("a: \ud800\n", 1, 4, "#xd800"),
        ("a:\n\tb: 1\n", 2, 1, "YAML syntax error"),
        ("a: 1\n---\nb: 2\n", 2, 1, "more than one YAML document"),
        ("a: *nope\n", 1, 4, "*nope is not defined above"),
        ("a: &x 1\nb: &x 2\n", 2, 4, "&x is defined twice"),
        ("%YAML 3.0\n---\na: 1\n", 1, 1, "YAML syntax error"),
        ("? [1, 2]\n: 3\n", 1, 3, "a key must be a plain value"),
    ],
)
def test_reader_and_structure_errors_are_located(text: str, line: int, column: int, words: str) -> None:
    f = refused(text)
    assert (f.line, f.column) == (line, column), str(f)
    assert words in f.message


def test_nesting_is_bounded_at_the_level_that_goes_too_deep() -> None:
    ok = "a: " + "[" * (yamlsafe.MAX_DEPTH - 1) + "]" * (yamlsafe.MAX_DEPTH - 1) + "\n"
    assert parse_yaml(ok, "f.yaml").data["a"] is not None
    f = refused("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert (f.line == 1 and "levels deep" in f.message) or "YAML syntax error" in f.message
    deep = "".join("  " * i + f"k{i}:\n" for i in range(200))
    f = refused(deep)
    assert f.line == yamlsafe.MAX_DEPTH + 1 and "more than 64 levels deep" in f.message


def test_non_utf8_bytes_and_unreadable_paths_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: \xff\xfe\n")
    for path, words in (
        (bad, "not UTF-8"),
        (tmp_path, "cannot read file"),
        (tmp_path / "a\0b", "cannot read"),
    ):
        with pytest.raises(ConfigError) as caught:
            read_text(path)
        assert words in caught.value.findings[0].message


def test_the_index_walks_a_shared_node_once_and_locates_aliases_at_the_anchor() -> None:
    text = "shared: &s {k: [1, 2, 3]}\nuses: [" + ", ".join(["*s"] * 300) + "]\n"
    doc = parse_yaml(text, "f.yaml")
    assert doc.data["uses"][299] is doc.data["shared"]
    assert doc.locate(("uses", 7)) == (1, 9)  # the alias's value is the anchored mapping
    assert doc.locate(("uses", 7, "k", 1)) == (1, 9)  # not re-indexed below the alias
    assert doc.locate(("shared", "k", 1)) == (1, 20)
    assert len(doc.locations) < 320  # one entry per path actually written, not per expanded value


@pytest.mark.parametrize("lazy", [False, True])
def test_valid_files_read_exactly_as_pyyaml_reads_them(lazy: bool) -> None:
    files = [
        *sorted((REPO / "rules").rglob("*.yaml")),
        REPO / "ads" / "catalog.yaml",
        REPO / "ads" / "subjects.yaml",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        doc = parse_yaml(text, str(path), lazy_locations=lazy)
        assert doc.data == yaml.safe_load(text), path
        assert doc.locate(()) == (1, 1) or doc.locations


def test_an_empty_file_is_none() -> None:
    assert parse_yaml("", "f.yaml").data is None
    assert parse_yaml("# only a comment\n", "f.yaml").data is None
