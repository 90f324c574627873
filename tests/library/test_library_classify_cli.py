from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from typer.testing import CliRunner

from signage.cli import app

pytestmark = pytest.mark.slow


def _jpg(path: Path, rgb: np.ndarray) -> Path:
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


def test_classify_json_is_one_object_highest_first_with_each_signals_share(tmp_path: Path) -> None:
    image = _jpg(tmp_path / "coffee.jpg", data.coffee())
    result = CliRunner().invoke(app, ["ads", "classify", str(image), "--json", "--no-ocr"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    scores = [s["score"] for s in payload["subjects"]]
    assert payload["subjects"][0]["id"] == "drinks" and scores == sorted(scores, reverse=True)
    assert len(scores) == 14 and sum(scores) == pytest.approx(1.0, abs=1e-3)
    top = payload["subjects"][0]["contributions"]
    assert {"image", "screen_text", "screen_words", "learned"} <= set(top) and top["image"] > 0
    assert payload["confidence"] == payload["subjects"][0]["score"]
    assert payload["screen_text"] == [] and payload["abstained"] == (payload["confidence"] < 0.5)


def test_evaluate_reports_accuracy_abstention_and_plots_on_a_labelled_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ads"
    folder.mkdir()
    _jpg(folder / "one.jpg", data.coffee())
    _jpg(folder / "two.jpg", data.chelsea())
    _jpg(folder / "three.jpg", np.full((200, 300, 3), 128, np.uint8))
    # Names say nothing; the labels file says what each is (the blank one "could be" food or home).
    labels = tmp_path / "labels.csv"
    labels.write_text("file,subject\none.jpg,drinks\ntwo.jpg,pets\nthree.jpg,food|home\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "ads",
            "evaluate",
            str(folder),
            "--labels",
            str(labels),
            "--json",
            "--plots",
            str(tmp_path / "p"),
            "--no-ocr",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["items"] == 3 and report["errors"] == 0
    assert report["per_subject_recall"]["drinks"] == 1.0 and report["per_subject_recall"]["pets"] == 1.0
    assert report["top1"] >= 2 / 3 and report["top3"] >= report["top1"]
    blank = next(r for r in report["results"] if r["file"] == "three.jpg")
    assert blank["abstained"] and report["abstention_rate"] >= 1 / 3
    assert report["answered_top1"] == 1.0  # what it did answer was right
    assert report["confusion"]["drinks"] == {"drinks": 1}
    assert (tmp_path / "p" / "confusion.png").stat().st_size > 0
    assert (tmp_path / "p" / "reliability.png").stat().st_size > 0


def test_evaluate_without_labels_is_one_clear_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["ads", "evaluate", str(tmp_path)])
    assert result.exit_code == 2 and "labels.csv does not exist" in result.output
