"""The catalog, its library editor and the two CLI commands people run on files they wrote go
through the bounded parser: impossible dates, duplicate keys, non-UTF-8 bytes and alias bombs
are one located line each, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from signage.catalog import declared_catalog, load_catalog
from signage.cli import app
from signage.library.catalog_file import CatalogDocument
from signage.library.library import list_ads
from signage.yamlconf import ConfigError

GOOD = """\
ads:
  - id: coffee
    media: media/coffee.png
    advertiser: Bean & Co
    campaign: morning
    duration_s: 8
"""
BOMB = "".join(
    [
        'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 9)),
    ]
)
# (what is wrong, the file's bytes, line, words in the message)
BROKEN = [
    ("impossible date", (GOOD + "    valid_from: 2026-02-30\n").encode(), 7, "day is out of range for month"),
    ("duplicate key", (GOOD + "    campaign: evening\n").encode(), 7, "duplicate key 'campaign'"),
    ("non-UTF-8 bytes", GOOD.encode().replace(b"Bean", b"B\xe9an"), 1, "not UTF-8"),
    ("alias bomb", (BOMB + GOOD).encode(), 5, "expands too much"),
    ("recursive alias", (GOOD + "    subjects: &s [*s]\n").encode(), 7, "recursive alias"),
    ("control character", (GOOD + "    title: a\x07b\n").encode(), 7, "#x0007 is not allowed"),
]
IDS = [case[0] for case in BROKEN]


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("what", "data", "line", "words"), BROKEN, ids=IDS)
def test_every_catalog_reader_gives_the_same_located_error(
    tmp_path: Path, what: str, data: bytes, line: int, words: str
) -> None:
    path = write(tmp_path, data)
    readers = (
        lambda: load_catalog(path, probe=False),
        lambda: declared_catalog(path),
        lambda: list_ads(path),
        lambda: CatalogDocument.open(path),
    )
    for read in readers:
        with pytest.raises(ConfigError) as caught:
            read()
        finding = caught.value.findings[0]
        assert (finding.file, finding.line) == (str(path), line), f"{what}: {finding}"
        assert words in finding.message


def test_names_that_do_not_fit_the_play_table_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("Bean & Co", "B" * 129).encode())
    with pytest.raises(ConfigError) as caught:
        load_catalog(path, probe=False)
    (finding,) = caught.value.findings
    assert (finding.line, finding.key) == (4, "ads[0].advertiser") and "at most 128" in finding.message
    write(tmp_path, GOOD.replace("Bean & Co", "B" * 128).encode())
    assert load_catalog(path, probe=False).skipped  # valid: only the media is missing


def test_a_media_name_too_long_for_the_file_system_skips_the_ad(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("media/coffee.png", "m" * 5000 + ".png").encode())
    (note,) = load_catalog(path, probe=False).skipped
    assert "ad 'coffee' left out" in note
    assert list_ads(path)[0].media_present is False


def test_ads_list_reads_values_as_the_player_does(tmp_path: Path) -> None:
    # YAML 1.1 (the player) reads 1:30 as 90 seconds; the editor's YAML 1.2 would read text
    path = write(tmp_path, GOOD.replace("duration_s: 8", "duration_s: 1:30").encode())
    (row,) = list_ads(path)
    assert row.duration_s == 90.0 and row.kind == "image"


runner = CliRunner()


@pytest.mark.parametrize(("what", "data", "line", "words"), BROKEN, ids=IDS)
def test_ads_list_prints_one_located_line_and_no_traceback(
    tmp_path: Path, what: str, data: bytes, line: int, words: str
) -> None:
    path = write(tmp_path, data)
    result = runner.invoke(app, ["ads", "list", "--catalog", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    (printed,) = result.output.strip().splitlines()
    assert printed.startswith(f"{path}:{line}:") and words in printed


RULES = "rules:\n  - id: coffee\n    play: {ads: [coffee]}\n"
BROKEN_RULES = [
    ("impossible date", RULES + "    dates: [{from: 2026-02-30}]\n", 4, "day is out of range for month"),
    ("duplicate key", RULES + "    play: {ads: [tea]}\n", 4, "duplicate key 'play'"),
    ("alias bomb", BOMB + RULES, 5, "expands too much"),
    ("recursive alias", RULES + "    days: &d [*d]\n", 4, "recursive alias"),
]


@pytest.mark.parametrize(("what", "text", "line", "words"), BROKEN_RULES, ids=[c[0] for c in BROKEN_RULES])
def test_rules_check_prints_located_errors_and_no_traceback(
    tmp_path: Path, what: str, text: str, line: int, words: str
) -> None:
    rules = tmp_path / "store.yaml"
    rules.write_text(text, encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text(GOOD, encoding="utf-8")
    config = tmp_path / "signage.yaml"
    config.write_text("catalog: catalog.yaml\nrules: [store.yaml]\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(rules), "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    first = result.output.strip().splitlines()[0]
    assert first.startswith(f"{rules}:{line}:") and words in first


def test_rules_check_with_a_broken_catalog_warns_and_a_broken_settings_file_exits_2(tmp_path: Path) -> None:
    rules = tmp_path / "store.yaml"
    rules.write_text(RULES, encoding="utf-8")
    (tmp_path / "catalog.yaml").write_bytes(BOMB.encode() + GOOD.encode())
    config = tmp_path / "signage.yaml"
    config.write_text("catalog: catalog.yaml\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(rules), "--config", str(config)])
    assert "catalog not usable" in result.output and "expands too much" in result.output
    result = runner.invoke(app, ["rules", "simulate", str(rules), "--config", str(config)])
    assert result.exit_code == 1 and "expands too much" in result.output and "Traceback" not in result.output
    config.write_text("timezone: Europe\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", str(rules), "--config", str(config)])
    assert result.exit_code == 2 and "unknown time zone" in result.output
