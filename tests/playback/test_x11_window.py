"""Under an X server (Xvfb here) VLC draws into the pygame window itself.

The player runs in a child process: SDL cannot switch from the dummy driver the other tests use
to x11 inside one process (it crashes in get_wm_info).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)"),
]

CHILD = """
import sys, time
from pathlib import Path
from signage.domain import Ad, MediaKind, PlayOutcome
from signage.playback.pygame_player import PygamePlayer
from signage.settings import DisplaySettings

clip, shot = Path(sys.argv[1]), Path(sys.argv[2])
player = PygamePlayer(DisplaySettings(video_output="window"), headless=False)
try:
    print("mode", player.mode, player.size)
    red = Ad("red", clip, MediaKind.VIDEO, 1.0, "acme", "c")
    player.prepare(red)
    player.start(red)
    deadline, taken, result = time.monotonic() + 10, False, None
    while result is None and time.monotonic() < deadline:
        result = player.pump()
        if not taken and (player.remaining_s() or 1.0) < 0.6:
            player.screenshot(shot)
            taken = True
        time.sleep(0.005)
    print("result", result.outcome.value if result else None, result.actual_s if result else None)
finally:
    player.close()
"""


@pytest.fixture
def xdisplay() -> Iterator[str]:
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield display
    finally:
        server.terminate()
        server.wait(5)


def test_window_mode_plays_into_the_x_window_and_snapshots_the_ad(
    xdisplay: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    shot = tmp_path / "red.png"
    env = {**os.environ, "DISPLAY": xdisplay, "SDL_VIDEODRIVER": "x11"}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(clips["red"]), str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(
        line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("mode", "result"))
    )
    assert lines["mode"] == "window (800, 600)"
    outcome, actual = lines["result"].split()
    assert outcome == "completed" and float(actual) > 0
    b, g, r = (int(v) for v in cv2.imread(str(shot))[200, 160])
    assert r > 150 and g < 80 and b < 80, "the screenshot must show the ad VLC drew"
