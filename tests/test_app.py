"""End to end on real components: pygame (dummy driver), VLC, SQLite, a generated catalog."""

from __future__ import annotations

import os
import sqlite3
import threading
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


def _store_row(data_dir: Path, query: str) -> tuple[object, ...]:
    return sqlite3.connect(data_dir / "signage.db").execute(query).fetchone()


def test_broken_catalog_and_rules_at_start_play_standby_and_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "ads:\n  - id: a\n    media: a.mp4\n    advertiser: A\n    campaign: c\n    valid_from: 2026-02-30\n"
    )
    rules = tmp_path / "store.yaml"
    rules.write_text("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n")  # fmt: skip
    settings = Settings(
        data_dir=tmp_path / "data",
        catalog=catalog,
        rules=(rules,),
        camera=CameraSettings(source="none"),
        display=DisplaySettings(fullscreen=False, width=320, height=240, standby_slot_s=1.0),
        perception=PerceptionSettings(enabled=False),
    )
    assert run(settings, RunOptions(headless=True, duration_s=3.0)) == 0
    catalog_valid, catalog_error, rules_valid, rules_error = _store_row(
        settings.data_dir, "select catalog_valid, catalog_error, rules_valid, rules_error from heartbeat"
    )
    assert not catalog_valid and str(catalog_error).startswith(f"{catalog}:")
    assert not rules_valid and str(rules_error).startswith(f"{rules}:")
    assert _store_row(settings.data_dir, "select count(*) from play") == (0,)  # standby only, never an ad


def test_a_failure_half_way_through_start_up_stops_what_was_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    before = {t.ident for t in threading.enumerate()}
    settings = Settings(
        data_dir=tmp_path / "data",
        catalog=tmp_path / "catalog.yaml",
        rules=(),
        camera=CameraSettings(source="simulated"),
        perception=PerceptionSettings(enabled=True),
    )
    empty_models = tmp_path / "models"
    empty_models.mkdir()
    assert run(settings, RunOptions(headless=True, duration_s=5.0, models_dir=empty_models)) == 2
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == []  # the store writer and the reloader were stopped and joined
    assert _store_row(settings.data_dir, "select count(*) from alembic_version") == (1,)  # migrated, closed
