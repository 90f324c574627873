from __future__ import annotations

import json
from pathlib import Path

from conftest import write_png, write_video
from typer.testing import CliRunner

from signage.cli import app

runner = CliRunner()


def test_add_list_remove_through_the_cli(catalog: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "promo.mp4")
    added = runner.invoke(
        app,
        [
            "ads",
            "add",
            str(video),
            "--catalog",
            str(catalog),
            "--id",
            "promo",
            "--advertiser",
            "Acme",
            "--title",
            "Promo",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "added 'promo'" in added.output
    again = runner.invoke(app, ["ads", "add", str(video), "--catalog", str(catalog)])
    assert again.exit_code == 0 and "already in the catalog as 'promo'" in again.output
    listed = runner.invoke(app, ["ads", "list", "--catalog", str(catalog), "--json"])
    ads = json.loads(listed.output)["ads"]
    assert [a["id"] for a in ads] == ["coffee-morning", "mystery", "promo"]
    assert ads[2]["kind"] == "video" and ads[2]["advertiser"] == "Acme"
    removed = runner.invoke(app, ["ads", "remove", "promo", "--catalog", str(catalog)])
    assert removed.exit_code == 0 and "removed 'promo'" in removed.output


def test_a_corrupt_file_is_one_sentence_and_exit_1(catalog: Path, tmp_path: Path) -> None:
    before = catalog.read_bytes()
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"junk" * 100)
    result = runner.invoke(app, ["ads", "add", str(bad), "--catalog", str(catalog)])
    assert result.exit_code == 1
    assert "bad.mp4" in result.output and "nothing was added" in result.output
    assert catalog.read_bytes() == before


def test_a_broken_catalog_is_reported_with_its_line(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("ads:\n  - id: x\n    media: a.png\n    colour: red\n", encoding="utf-8")
    result = runner.invoke(
        app, ["ads", "add", str(write_png(tmp_path / "a.png", 1)), "--catalog", str(catalog)]
    )
    assert result.exit_code == 2 and "catalog.yaml:4" in result.output
