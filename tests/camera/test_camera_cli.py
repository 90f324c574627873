"""``signage camera`` reports a camera's health without saving any frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from signage.cli import app


def test_no_camera_is_reported_offline_with_its_reason() -> None:
    result = CliRunner().invoke(app, ["camera", "--source", "none", "--seconds", "1"])
    assert result.exit_code == 1
    assert "offline (the camera is switched off" in result.output


def test_a_video_file_is_reported_online(tmp_path: Path) -> None:
    clip = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 25, (80, 60))
    for n in range(10):
        writer.write(np.full((60, 80, 3), 25 * n, np.uint8))
    writer.release()
    result = CliRunner().invoke(app, ["camera", "--source", str(clip), "--seconds", "1.5"])
    assert result.exit_code == 0, result.output
    assert "online" in result.output and "frame size 80x60" in result.output
    assert list(tmp_path.iterdir()) == [clip]  # nothing written beside it
