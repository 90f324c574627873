"""signage rules check|simulate|schema, end to end through typer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from signage.cli import rules as rules_cli

REPO = Path(__file__).resolve().parents[2]

CATALOG = """\
ads:
  - {id: coffee, media: media/coffee.png, advertiser: A, campaign: morning, subjects: [drinks], duration_s: 8}
  - {id: beer, media: media/beer.png, advertiser: B, campaign: lager, subjects: [alcohol], duration_s: 8}
  - {id: lipstick, media: media/lip.png, advertiser: C, campaign: velvet, subjects: [beauty], duration_s: 8}
"""
RULES = """\
dayparts:
  evening: "18:00-22:00"
rules:
  - id: beauty-women
    tier: 10
    audience: {gender: female}
    play: {subjects: [beauty]}
  - id: lager-evening
    tier: 5
    dayparts: [evening]
    play: {campaigns: [lager]}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "ads").mkdir()
    (tmp_path / "ads" / "catalog.yaml").write_text(CATALOG)
    (tmp_path / "store.yaml").write_text(RULES)
    (tmp_path / "signage.yaml").write_text(
        "timezone: Europe/Paris\ncatalog: ads/catalog.yaml\nrules: [store.yaml]\n"
    )
    return {"dir": tmp_path, "config": tmp_path / "signage.yaml", "rules": tmp_path / "store.yaml"}


def cli(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    rules_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "rules" a sub-command
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_valid_file_exits_0(env: dict[str, Path]) -> None:
    code, out, err = cli("rules", "check", str(env["rules"]), "--config", str(env["config"]))
    assert code == 0, out + err
    assert "0 error(s), 0 warning(s)" in err


def test_check_broken_file_prints_located_errors_and_exits_1(env: dict[str, Path]) -> None:
    bad = env["dir"] / "bad.yaml"
    bad.write_text(
        "rules:\n  - id: kids\n    audience: {age: [child]}\n    play: {ads: [coffee]}\n    tierr: 3\n"
    )
    code, out, _ = cli("rules", "check", str(bad), "--config", str(env["config"]))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{bad}:3:22: error: rules may not target the under-18 age band 'child'")
    assert lines[1].startswith(f"{bad}:5:5: error: unknown key")


def test_check_warnings_json_and_strict(env: dict[str, Path]) -> None:
    env["rules"].write_text(RULES + "  - {id: ghost, play: {ads: [nope]}}\n")
    code, out, _ = cli("rules", "check", "--json", str(env["rules"]), "--config", str(env["config"]))
    assert code == 0
    doc = json.loads(out)
    assert doc["valid"] is True and doc["errors"] == 0 and doc["warnings"] >= 1
    assert any(f["message"] == "no ad 'nope' in the catalog" and f["line"] == 12 for f in doc["findings"])
    code, _, _ = cli("rules", "check", "--strict", str(env["rules"]), "--config", str(env["config"]))
    assert code == 1


def test_check_yaml_syntax_error(env: dict[str, Path]) -> None:
    bad = env["dir"] / "syntax.yaml"
    bad.write_text("rules:\n  - id: a\n    play: {ads: [x]\n")
    code, out, _ = cli("rules", "check", str(bad), "--config", str(env["config"]))
    assert code == 1 and out.startswith(f"{bad}:4:1: error: YAML syntax error")


def test_simulate_names_ad_rule_reason_and_runner_up(env: dict[str, Path]) -> None:
    args = ["rules", "simulate", str(env["rules"]), "--config", str(env["config"])]
    code, out, err = cli(*args, "--audience", "2 women 25-34 happy", "--at", "2026-11-21 19:00")
    assert code == 0, out + err
    assert "plays:     lipstick" in out and "rule:      beauty-women" in out
    assert "runner-up: beer" in out  # the evening lager rule is next in precedence
    code, out, _ = cli(*args, "--audience", "1 man 40, 1 child", "--at", "2026-11-21 19:00")
    assert "rule:      house-rotation" in out and "beer" not in out  # no lager with a child there
    code, _, err = cli(*args, "--audience", "2 wizards")
    assert code == 2 and "unknown word 'wizards'" in err


def test_simulate_day(env: dict[str, Path]) -> None:
    code, out, err = cli("rules", "simulate", str(env["rules"]), "--config", str(env["config"]), "--day",
                         "--at", "2026-11-21")  # fmt: skip
    assert code == 0, out + err
    assert "share of voice" in out and "velvet" in out and "lager" in out


def test_schema_command_matches_the_committed_file(tmp_path: Path) -> None:
    code, out, _ = cli("rules", "schema")
    assert code == 0
    assert out == (REPO / "rules" / "schema.json").read_text(encoding="utf-8")
    assert json.loads(out)["title"].startswith("Signage rule table")
