"""Under an X server (Xvfb here) VLC draws into the pygame window itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from signage.domain import Ad, MediaKind, PlayOutcome
from signage.settings import DisplaySettings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)"),
]


@pytest.fixture
def xdisplay(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    try:
        yield display
    finally:
        server.terminate()
        server.wait(5)


def test_window_mode_plays_into_the_x_window_and_snapshots_the_ad(
    xdisplay: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    from signage.playback.pygame_player import PygamePlayer

    player = PygamePlayer(DisplaySettings(), headless=False)
    try:
        assert player.mode == "window" and player.size == (800, 600)
        red = Ad("red", clips["red"], MediaKind.VIDEO, 1.0, "acme", "c")
        player.prepare(red)
        player.start(red)
        deadline, shot, result = time.monotonic() + 10, False, None
        while result is None and time.monotonic() < deadline:
            result = player.pump()
            if not shot and (player.remaining_s() or 1.0) < 0.6:
                player.screenshot(tmp_path / "red.png")
                shot = True
            time.sleep(0.005)
        assert result is not None and result.outcome is PlayOutcome.COMPLETED
        assert 0.6 < result.actual_s < 1.6
        b, g, r = (int(v) for v in cv2.imread(str(tmp_path / "red.png"))[200, 160])
        assert r > 150 and g < 80 and b < 80, "the screenshot must show the ad VLC drew"
    finally:
        player.close()
