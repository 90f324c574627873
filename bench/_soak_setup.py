"""The soak bench's working folder: content, camera video, settings files; its options and its plan."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import cv2
import yaml
from _soak_faults import DB_DOWN, RTSP, Plan

CAMERA_S, CAMERA_FPS = 10, 15  # a short loop: a renamed file is noticed when the loop restarts


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    add = parser.add_argument
    add("--minutes", type=float, default=60.0, help="length of the whole run")
    add("--faults", default="all", help="all, none, or a comma list of faults and groups")
    add("--kills", type=int, default=3, help="how many kill -9 in the main segment")
    add("--json", help="also write the figures to this file")
    add("--no-perception", action="store_true", help="perception off (less CPU)")
    add("--player-src", help="run the player from this source tree (e.g. an unpacked git archive)")
    add("--sqlite", action="store_true", help="SQLite in the data dir (no database faults)")
    add("--disk-mb", type=int, default=32, help="size of the data dir's tmpfs")
    add("--sample-s", type=float, default=10.0, help="/proc sampling period")
    add("--hang-s", type=float, default=60.0, help="no play started for this long: a hang")
    add("--startup-s", type=float, default=120.0, help="time allowed for the first play")
    add("--workdir", help="where the working folder is made (default: the temp dir)")
    add("--keep", action="store_true", help="keep the working folder, logs and screenshots")
    add("--plan-only", action="store_true", help="print the plan and stop")
    return parser


def player_env(player_src: str | None) -> dict[str, str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    if player_src:
        env["PYTHONPATH"] = str(Path(player_src).resolve())
    return env


@dataclass(frozen=True)
class Content:
    catalog: Path
    media: Path
    rules: tuple[Path, ...]
    video_ads: frozenset[str]
    restricted_ads: frozenset[str]


def copy_content(work: Path, src: Path, media_from: Path, env: dict[str, str]) -> Content:
    """The catalog and rule files of ``src``, the media of ``media_from``, whatever is missing generated."""
    media, rules = work / "ads" / "media", work / "rules"
    media.mkdir(parents=True, exist_ok=True)
    rules.mkdir(parents=True, exist_ok=True)
    catalog = work / "ads" / "catalog.yaml"
    shutil.copy2(src / "ads" / "catalog.yaml", catalog)
    if media_from.is_dir():
        for f in media_from.iterdir():
            shutil.copy2(f, media / f.name)
    # What is missing is generated the way `make samples` does it (cwd: never the repository).
    subprocess.run([sys.executable, "-m", "signage.samples", "--out", str(media)], check=True, env=env,
                   cwd=work, stdout=subprocess.DEVNULL)  # fmt: skip
    for f in sorted((src / "rules").glob("*.yaml")):
        shutil.copy2(f, rules / f.name)
    ads = yaml.safe_load(catalog.read_text())["ads"]
    return Content(
        catalog,
        media,
        tuple(sorted(rules.glob("*.yaml"))),
        frozenset(a["id"] for a in ads if str(a.get("media", "")).endswith(".mp4")),
        frozenset(a["id"] for a in ads if a.get("restricted")),
    )


def render_camera(path: Path) -> None:
    """A short H.264 loop of the simulated store scene (synthetic people; no real camera frame)."""
    from signage.camera.base import RGBImage
    from signage.camera.simulated import SimulatedScene
    from signage.media import write_h264

    scene = SimulatedScene(640, 480, CAMERA_FPS, seed=3)
    frames = (
        cast(RGBImage, cv2.cvtColor(scene.frame(i + 2 * CAMERA_FPS), cv2.COLOR_RGB2BGR))
        for i in range(CAMERA_S * CAMERA_FPS)
    )
    write_h264(path, frames, (640, 480), CAMERA_FPS)


def write_settings(path: Path, *, screen_id: str, camera: str, data_dir: Path, content: Content,
                   database_url: str | None, perception: bool) -> None:  # fmt: skip
    settings: dict[str, Any] = {
        "screen_id": screen_id,
        "store_id": "soak",
        "data_dir": str(data_dir),
        "catalog": str(content.catalog),
        "rules": [str(r) for r in content.rules],
        # A camera back within 10 s of being restored (the default back-off goes up to 30 s).
        "camera": {"source": camera, "reconnect_max_s": 10},
        "display": {"fullscreen": False, "width": 1280, "height": 720},
        "perception": {"enabled": perception},
        "log_level": "DEBUG",  # the slot loop logs each play it starts at DEBUG
    }
    if database_url:
        settings["database_url"] = database_url
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def print_plan(plan: Plan, minutes: float, work: Path, database: str) -> None:
    print(f"soak: {minutes:g} min asked, about {plan.total_s / 60:.1f} min planned; working folder {work};"
          f" database {database}")  # fmt: skip
    for note in plan.notes:
        print(f"  note: {note}")
    for p in plan.items:
        print(
            f"  at {p.inject_at / 60:5.1f} min for {p.undo_at - p.inject_at:4.0f} s  {p.label}: {p.spec.what}"
        )
    for name, seconds in ((RTSP.name, plan.rtsp_s), (DB_DOWN.name, plan.final_s)):
        if seconds:
            print(f"  then {seconds:4.0f} s  {name}")
