"""End to end on real components: pygame (dummy driver), VLC, SQLite, a generated catalog."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.app import RunOptions, run
from signage.settings import CameraSettings, DisplaySettings, PerceptionSettings, Settings

pytestmark = pytest.mark.slow


def clip(path: Path, color: tuple[int, int, int], seconds: float = 2.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 25, (320, 240))
    for i in range(int(seconds * 25)):
        frame = np.full((240, 320, 3), color, np.uint8)
        cv2.circle(frame, (20 + i * 5, 120), 20, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()


def test_headless_run_plays_records_and_screenshots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    media = tmp_path / "media"
    media.mkdir()
    clip(media / "red.mp4", (0, 0, 255))
    clip(media / "green.mp4", (0, 255, 0))
    cv2.imwrite(str(media / "blue.png"), np.full((240, 320, 3), (255, 0, 0), np.uint8))
    (media / "corrupt.mp4").write_bytes(b"\x00" * 4096)
    catalog = tmp_path / "catalog.yaml"
    entries = [("red", "red.mp4", ""), ("green", "green.mp4", ""), ("blue", "blue.png", "    duration_s: 2\n"),
               ("corrupt", "corrupt.mp4", "")]  # fmt: skip
    catalog.write_text(
        "ads:\n"
        + "".join(
            f"  - id: {i}\n    media: media/{m}\n    advertiser: A\n    campaign: {i}\n{extra}"
            for i, m, extra in entries
        )
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        catalog=catalog,
        rules=(),
        camera=CameraSettings(source="none"),
        display=DisplaySettings(fullscreen=False, width=640, height=360),
        perception=PerceptionSettings(enabled=False),
    )
    shots = tmp_path / "shots"
    code = run(settings, RunOptions(headless=True, duration_s=9.0, screenshots=shots, seed=1))
    assert code == 0
    assert os.environ.get("SDL_VIDEODRIVER") == "dummy"

    rows = (
        sqlite3.connect(settings.data_dir / "signage.db")
        .execute("select ad_id, outcome, actual_s from play order by started_at")
        .fetchall()
    )
    assert {r[0] for r in rows} == {"red", "green", "blue"}  # the corrupt file never reaches the screen
    assert all(r[1] in ("completed", "interrupted") for r in rows)
    assert rows[-1][1] == "interrupted" and all(r[1] == "completed" for r in rows[:-1])
    assert sum(1 for r in rows if r[1] == "completed") >= 3

    pictures = sorted(shots.glob("*.png"))
    assert sum(1 for r in rows if r[1] == "completed") <= len(pictures) <= len(rows)
    expected = {"red": 2, "green": 1, "blue": 0}  # BGR channel that dominates each ad
    for picture in pictures:
        image = cv2.imread(str(picture))
        ad_id = picture.stem.split("-", 1)[1]
        h, w = image.shape[:2]
        # Above the moving white ball, inside the letterboxed picture.
        centre = image[h // 2 - 120 : h // 2 - 80, w // 2 - 20 : w // 2 + 20].reshape(-1, 3).mean(axis=0)
        assert centre.max() > 150, f"{picture.name} is dark"
        assert int(np.argmax(centre)) == expected[ad_id], f"{picture.name} does not show {ad_id}"
