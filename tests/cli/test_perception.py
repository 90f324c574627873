"""``signage perceive`` on a short video the test makes from photos shipped in dependencies."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from matplotlib.image import imread
from typer.testing import CliRunner

from signage.cli import app


def _video(path: Path, frames: int = 45) -> Path:
    grace = np.asarray(imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))[
        60:420, 110:430, :3
    ]
    person = cv2.resize(np.ascontiguousarray(grace), (200, 225))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    assert writer.isOpened()
    for i in range(frames):
        canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
        if i < 30:  # in view for 2 s, then gone
            x = 100 + 4 * i  # walking slowly to the right
            canvas[120:345, x : x + 200] = person
        writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_perceive_a_video_file_as_json(tmp_path: Path) -> None:
    video = _video(tmp_path / "walk.avi")
    result = CliRunner().invoke(app, ["perceive", str(video), "--json", "--no-attributes"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["frames"] == 45
    assert summary["video_seconds"] == pytest.approx(44 / 15, abs=0.01)
    assert summary["tracks_total"] == 1
    (track,) = summary["tracks"]
    assert track["dwell_s"] == pytest.approx(
        29 / 15, abs=0.01
    )  # timed by the file's clock, not by how fast it was processed
    assert 0 < track["attention_s"] <= track["dwell_s"]
    assert track["possible_minor"] is True and track["age_years"] is None  # unclassified: cannot rule out


def test_perceive_missing_file_is_one_sentence(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["perceive", str(tmp_path / "nope.mp4"), "--no-attributes"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_perceive_without_a_model_says_how_to_go_on(tmp_path: Path) -> None:
    video = _video(tmp_path / "walk.avi", frames=3)
    result = CliRunner().invoke(app, ["perceive", str(video), "--models", str(tmp_path)])
    assert result.exit_code == 2
    assert "--no-attributes" in result.output
