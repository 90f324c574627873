"""Sustained 1080p playback with a camera-like thread running: frames shown vs expected.

A 1920x1080 30 fps clip (H.264 with a sine sound track when ffmpeg is installed, else OpenCV
mp4v without sound) plays back to back through the real player for ``--seconds``, headless (SDL
dummy driver, VLC frame callbacks), in a 1920x1080 window so every pixel is really drawn.
Meanwhile a thread reads a generated 640x480 video with OpenCV, paced to 30 fps and looped, as
the camera does. The camera thread's own figures are the baseline measured in the same run.

    nice .venv/bin/python bench/playback_1080p.py --seconds 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

from signage.domain import Ad, MediaKind
from signage.playback.pygame_player import PygamePlayer
from signage.playback.vlcvideo import probe_video
from signage.settings import DisplaySettings

FPS = 30


def make_1080p(path: Path, seconds: float) -> str:
    if shutil.which("ffmpeg"):
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size=1920x1080:rate={FPS}",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                f"{seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                str(path),
            ],
            check=True,
        )
        return "H.264 + AAC (ffmpeg testsrc2)"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (1920, 1080))
    for i in range(round(seconds * FPS)):
        image = np.full((1080, 1920, 3), (i * 3) % 255, np.uint8)
        cv2.putText(image, str(i), (100, 540), cv2.FONT_HERSHEY_SIMPLEX, 8, (255, 255, 255), 12)
        writer.write(image)
    writer.release()
    return "mp4v (OpenCV), no sound"


def make_camera_clip(path: Path) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (640, 480))
    for i in range(3 * FPS):
        image = np.zeros((480, 640, 3), np.uint8)
        cv2.circle(image, (50 + i * 5, 240), 40, (200, 180, 160), -1)
        writer.write(image)
    writer.release()


class CameraLike(threading.Thread):
    """Reads frames paced to 30 fps and loops, like the file camera source; counts late frames."""

    def __init__(self, path: Path, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.path, self.stop = path, stop
        self.frames = 0
        self.late = 0  # frames read more than one period after they were due
        self.elapsed = 0.0

    def run(self) -> None:
        cap = cv2.VideoCapture(str(self.path))
        start = time.monotonic()
        due = start
        while not self.stop.is_set():
            ok, _frame = cap.read()
            if not ok:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            self.frames += 1
            now = time.monotonic()
            if now - due > 1.0 / FPS:
                self.late += 1
            due += 1.0 / FPS
            time.sleep(max(0.0, due - time.monotonic()))
        self.elapsed = time.monotonic() - start
        cap.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="total playback time")
    parser.add_argument("--clip", type=float, default=15.0, help="length of the generated 1080p clip")
    parser.add_argument("--fullscreen", action="store_true", help="dummy fullscreen (1024x768) instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        clip, camera_clip = Path(tmp) / "uhd.mp4", Path(tmp) / "camera.mp4"
        codec = make_1080p(clip, args.clip)
        make_camera_clip(camera_clip)
        info = probe_video(clip)
        plays = max(1, round(args.seconds / info.duration_s))
        ads = [Ad(f"hd{i}", clip, MediaKind.VIDEO, info.duration_s, "bench", "1080p") for i in range(plays)]

        display = DisplaySettings(fullscreen=args.fullscreen, width=1920, height=1080)
        player = PygamePlayer(display, headless=True)
        stop = threading.Event()
        camera = CameraLike(camera_clip, stop)
        load_before = os.getloadavg()[0]
        camera.start()
        started = time.monotonic()
        results = []
        try:
            player.prepare(ads[0])
            player.start(ads[0])
            index, prepared = 0, False
            while True:
                result = player.pump()
                if result is not None:
                    results.append(result)
                    index += 1
                    if index == len(ads):
                        break
                    player.start(ads[index])
                    prepared = False
                    continue
                remaining = player.remaining_s()
                if not prepared and index + 1 < len(ads) and remaining is not None and remaining <= 1.0:
                    player.prepare(ads[index + 1])
                    prepared = True
                time.sleep(0.002)
        finally:
            wall = time.monotonic() - started
            stop.set()
            camera.join()
            player.close()

    expected = info.frames * plays
    print(
        f"clip: {info.width}x{info.height} {info.fps:g} fps {info.duration_s:.1f} s, {codec}; {plays} plays"
    )
    print(f"window {player.size[0]}x{player.size[1]}; wall {wall:.1f} s; load avg before {load_before:.1f}")
    print(f"outcomes: {[r.outcome.value for r in results]}")
    print(
        f"frames expected {expected}; VLC delivered {player.frames_delivered}; drawn by pygame {player.frames_blitted}"
    )
    print(
        f"dropped (expected - drawn): {expected - player.frames_blitted} ({100 * (expected - player.frames_blitted) / expected:.2f} %)"
    )
    cam_expected = camera.elapsed * FPS
    print(
        f"camera thread: {camera.frames} frames read of {cam_expected:.0f} due, {camera.late} late (> 1 period)"
    )
    print(
        f"ratio drawn/expected: video {player.frames_blitted / expected:.3f}; camera {camera.frames / cam_expected:.3f}"
    )


if __name__ == "__main__":
    main()
