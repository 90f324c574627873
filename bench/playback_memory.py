"""Memory of the real player over many plays: RSS growth per play and per hour, headless.

Plays generated H.264 clips back to back through the real ``PygamePlayer`` (SDL dummy driver, VLC
frame callbacks, the default display settings), driven by the real ``SlotLoop`` the way
``signage run --headless`` drives it, with a round-robin decider and a sink that keeps nothing (so
the figure is the player's and the loop's own). RSS (``VmRSS`` of /proc/self/status) is read at
start, after the warm-up plays and at the end; growth per hour is the per-play growth after the
warm-up times the plays per hour observed in the run. ``--tracemalloc`` adds the Python heap's
growth over the same span (what is left is native: libvlc, SDL, malloc arenas).

    nice .venv/bin/python bench/playback_memory.py --plays 60 --seconds 2
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

from signage.clock import SystemClock
from signage.domain import Ad, AudienceSnapshot, Decision, MediaKind, Play, PlayOutcome, PlayRecord
from signage.loop import LoopConfig, SlotLoop
from signage.media import write_h264
from signage.playback import vlcvideo
from signage.playback.pygame_player import PygamePlayer
from signage.settings import DisplaySettings

COLOURS = [(40, 40, 220), (220, 60, 40), (40, 200, 60), (200, 40, 200), (30, 200, 200)]


class CountingSink:
    """A PlaySink that only counts: the store is not what this bench measures."""

    def __init__(self) -> None:
        self.ended: dict[PlayOutcome | None, int] = {}

    def play_started(self, play: Play) -> None:
        pass

    def play_ended(self, play: Play) -> None:
        self.ended[play.outcome] = self.ended.get(play.outcome, 0) + 1

    def recent_plays(self, since: datetime) -> Sequence[PlayRecord]:
        return ()

    def flush(self, timeout_s: float | None = None) -> bool:
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        pass

    @property
    def plays(self) -> int:
        return sum(self.ended.values())


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def frames(colour: tuple[int, int, int], count: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    for i in range(count):
        image = np.empty((size[1], size[0], 3), np.uint8)
        image[:] = colour
        cv2.putText(image, str(i), (20, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        yield image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=60, help="video plays in all")
    parser.add_argument("--warmup", type=int, default=10, help="plays before the baseline is taken")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each clip")
    parser.add_argument("--clips", type=int, default=4, help="distinct clips in rotation")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument(
        "--screenshots", action="store_true", help="one screenshot per play, like --screenshots"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python heap (slower)")
    args = parser.parse_args()
    if not 0 < args.warmup < args.plays:
        parser.error("--warmup must be between 0 and --plays")

    with tempfile.TemporaryDirectory() as tmp:
        ads = []
        for i in range(args.clips):
            path = Path(tmp) / f"clip{i}.mp4"
            size = (args.width, args.height)
            write_h264(path, frames(COLOURS[i % len(COLOURS)], round(args.seconds * 30), size), size, 30.0)
            ads.append(Ad(f"clip{i}", path, MediaKind.VIDEO, args.seconds, "bench", "memory"))
        rotation = itertools.cycle(ads)

        def decide(*_: object) -> Decision:
            return Decision(next(rotation), "bench", "round robin")

        sink = CountingSink()
        rss_start = rss_mb()
        player = PygamePlayer(DisplaySettings(), headless=True)
        shots = Path(tmp) / "shots" if args.screenshots else None
        if shots is not None:
            shots.mkdir()
        loop = SlotLoop(
            LoopConfig(screen_id="bench", screenshots=shots),
            player,
            sink,
            lambda: AudienceSnapshot.unknown(time.monotonic()),
            decide,
            SystemClock(),
        )
        stop = threading.Event()
        series: list[tuple[int, float, float]] = []  # (plays ended, monotonic, RSS MB), one per play
        rss_player = rss_mb()
        try:
            while sink.plays < args.plays and not stop.is_set():
                loop.step()
                # One sample per play at the same point of it (half a second in: the previous clip is
                # released, the next one not prepared yet), so the figures compare like with like.
                remaining = player.remaining_s()
                due = remaining is not None and remaining <= args.seconds - 0.5 and sink.plays >= args.warmup
                if due and (not series or series[-1][0] != sink.plays):
                    if not series and args.tracemalloc:
                        tracemalloc.start()
                    gc.collect()
                    series.append((sink.plays, time.monotonic(), rss_mb()))
                    if len(series) == 1:
                        usage0 = resource.getrusage(resource.RUSAGE_SELF)
                if shots is not None:
                    for shot in shots.iterdir():  # the bench keeps no screenshot, only the act of taking one
                        shot.unlink()
                stop.wait(loop.config.tick_s)
            live_clips = vlcvideo.live_clips()
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            heap = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        finally:
            loop.interrupt("bench finished")
            player.close()
        gc.collect()
        rss_closed = rss_mb()

    (n0, t0, rss0), (n1, t1, rss1) = series[0], series[-1]
    plays = n1 - n0
    xs = np.array([n for n, _, _ in series], float)
    ys = np.array([rss for _, _, rss in series])
    slope = float(np.polyfit(xs, ys, 1)[0])  # MB per play, least squares over every play after the warm-up
    plays_per_hour = plays / (t1 - t0) * 3600
    outcomes = ", ".join(f"{k}: {v}" for k, v in sink.ended.items())
    every_10th = " ".join(f"{rss:.0f}" for n, _, rss in series if n % 10 == 0)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"clips {args.width}x{args.height} H.264 30 fps, {args.seconds:g} s each, {args.clips} in rotation; "
        f"screen {player.size[0]}x{player.size[1]}, {player.mode}; screenshots {'on' if shots else 'off'}"
    )
    print(f"plays: {sink.plays} ({outcomes}); warm-up {args.warmup}")
    print(
        f"RSS MB: start {rss_start:.1f}  player open {rss_player:.1f}  after warm-up {rss0:.1f}  end {rss1:.1f}"
    )
    print(f"RSS MB after the warm-up: min {ys.min():.1f}  max {ys.max():.1f}; every 10th play: {every_10th}")
    print(f"RSS after close {rss_closed:.1f} MB; clips still holding a VLC player at the end: {live_clips}")
    print(
        f"growth after warm-up: {rss1 - rss0:+.1f} MB over {plays} plays; slope {slope * 1024:+.1f} KB/play"
    )
    print(
        f"plays/hour observed {plays_per_hour:.0f} -> extrapolated {slope * plays_per_hour:+.1f} MB/hour "
        "(target < 20 MB/hour)"
    )
    cpu = usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime
    faults = usage1.ru_minflt - usage0.ru_minflt
    print(f"after warm-up: CPU {cpu / plays * 1000:.0f} ms/play, minor page faults {faults / plays:.0f}/play")
    if snapshot is not None:
        print(
            f"Python heap growth after warm-up: {heap / 1024:+.1f} KB ({heap / plays:+.0f} B/play); largest:"
        )
        for stat in snapshot.statistics("lineno")[:5]:
            print(f"  {stat}")


if __name__ == "__main__":
    main()
