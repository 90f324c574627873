"""Gap between the last frame of one video and the first frame of the next, headless.

Plays generated 30 fps clips back to back through the real player (SDL dummy driver, VLC frame
callbacks), driven the way the slot loop drives it: ``prepare`` the next ad one second ahead,
``start`` it when ``pump`` reports the current one ended. Every blit is timestamped; the gap at a
switch is the time between the last blit of one clip and the first blit of the next. The
baseline, measured in the same run, is the interval between consecutive frames inside a clip.

    nice .venv/bin/python bench/playback_gap.py --switches 8
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

from signage.domain import Ad, MediaKind
from signage.playback.pygame_player import PygamePlayer
from signage.settings import DisplaySettings

COLOURS = [(40, 40, 220), (220, 60, 40), (40, 200, 60), (200, 40, 200)]


def make_clip(path: Path, bgr: tuple[int, int, int], seconds: float, size: tuple[int, int]) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, size)
    for i in range(round(seconds * 30)):
        image = np.empty((size[1], size[0], 3), np.uint8)
        image[:] = bgr
        cv2.putText(image, str(i), (20, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        writer.write(image)
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each clip")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--lead", type=float, default=1.0, help="prepare the next ad this early (s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ads = []
        for i, colour in enumerate(COLOURS):
            path = Path(tmp) / f"clip{i}.mp4"
            make_clip(path, colour, args.seconds, (args.width, args.height))
            ads.append(Ad(f"clip{i}", path, MediaKind.VIDEO, args.seconds, "bench", "gap"))
        order = [ads[i % len(ads)] for i in range(args.switches + 1)]

        player = PygamePlayer(DisplaySettings(privacy_notice=True), headless=True)
        blits: list[tuple[float, str]] = []
        results = []
        try:
            player.prepare(order[0])
            player.start(order[0])
            index, prepared, counted = 0, False, 0
            while True:
                showing = player.showing  # a frame drawn by this pump belongs to the item current before it
                result = player.pump()
                if player.frames_blitted != counted:
                    counted = player.frames_blitted
                    blits.append((time.monotonic(), showing or "?"))
                if result is not None:
                    results.append(result)
                    index += 1
                    if index == len(order):
                        break
                    player.start(order[index])
                    prepared = False
                    continue
                remaining = player.remaining_s()
                if (
                    not prepared
                    and index + 1 < len(order)
                    and remaining is not None
                    and remaining <= args.lead
                ):
                    player.prepare(order[index + 1])
                    prepared = True
                time.sleep(0.002)
        finally:
            player.close()

    gaps: list[float] = []
    inside: list[float] = []
    for (t0, a), (t1, b) in itertools.pairwise(blits):
        (gaps if a != b else inside).append((t1 - t0) * 1000)
    per_clip = [sum(1 for _, ad in blits if ad == f"clip{i % len(ads)}") for i in range(len(ads))]
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"clips {args.width}x{args.height} 30 fps, {args.seconds:g} s each; {args.switches} switches")
    print(f"outcomes: {sorted({r.outcome.value for r in results})}; frames blitted {len(blits)}")
    print(f"blits per clip id (expected {round(args.seconds * 30)} per play): {per_clip}")
    if gaps:
        print(
            f"switch gap ms: median {statistics.median(gaps):.1f}  max {max(gaps):.1f}  all {[round(g) for g in gaps]}"
        )
    if inside:
        frame = statistics.median(inside)
        print(f"baseline frame interval inside a clip ms: median {frame:.1f}  max {max(inside):.1f}")
        if gaps:
            print(f"ratio median gap / median frame interval: {statistics.median(gaps) / frame:.2f}")


if __name__ == "__main__":
    main()
