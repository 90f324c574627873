"""Camera benchmarks: figures printed, nothing asserted.

    .venv/bin/python bench/camera.py [--seconds 10] [--no-mediapipe]

1. Simulated scene: milliseconds to render one 640x480 frame, against a baseline measured in the
   same run (copying the background and adding grain, the least any frame costs), and the share
   of one core that rendering takes at the configured 30 fps.
2. Capture stage on the simulated scene for SECONDS with a consumer at 10 Hz: frames read,
   frames dropped by the one-slot buffer, measured fps, and how old a frame is when taken.
3. A video file through the capture stage: achieved fps against the file's own rate.
4. MediaPipe full-range face detection on simulated frames: share of frames where it finds a face,
   by what the scene says is happening (someone looking, only backs of heads, empty store).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signage.camera.capture import CameraStage
from signage.camera.opencv_source import OpenCVSource
from signage.camera.scene import Pose
from signage.camera.simulated import SimulatedScene, SimulatedSource
from signage.settings import CameraSettings


def render_cost(scene: SimulatedScene, frames: int) -> None:
    for index in range(frames):  # warm the sprite caches, as a running scene has them
        scene.frame(index)
    times = []
    for index in range(frames, 2 * frames):
        started = time.perf_counter()
        scene.frame(index)
        times.append(time.perf_counter() - started)
    renderer = scene.renderer
    base = []
    for index in range(frames):
        started = time.perf_counter()
        cv2.add(renderer._background.copy(), renderer._grain[index % 3])
        base.append(time.perf_counter() - started)
    mean, base_mean = statistics.mean(times), statistics.mean(base)
    p95 = sorted(times)[int(0.95 * len(times))]
    print(f"[render] {frames} frames 640x480: {mean * 1e3:.2f} ms/frame (p95 {p95 * 1e3:.2f} ms)")
    print(
        f"[render] baseline background+grain: {base_mean * 1e3:.2f} ms/frame; ratio {mean / base_mean:.1f}x"
    )
    print(f"[render] share of one core at {scene.fps:g} fps: {mean * scene.fps:.1%}")


def run_stage(source: OpenCVSource | SimulatedSource, seconds: float, label: str, nominal: float) -> None:
    stop = threading.Event()
    stage = CameraStage(source, CameraSettings(), stop)
    stage.start()
    ages: list[float] = []
    last_seq = 0
    first = stage.take_new(0, timeout_s=30)
    started = time.monotonic()
    seq_at_start = first.seq if first else 0
    while first is not None and time.monotonic() - started < seconds:
        frame = stage.take_new(last_seq, timeout_s=1)
        if frame is not None:
            ages.append(time.monotonic() - frame.captured_mono)
            last_seq = frame.seq
        time.sleep(0.1)  # a consumer at ~10 Hz: most frames are dropped, none queue
    elapsed = time.monotonic() - started
    status = stage.status()
    stop.set()
    stage.join(timeout=5)
    read = status.frames_read - seq_at_start
    print(
        f"[{label}] {elapsed:.1f} s: read {read} frames ({read / elapsed:.1f} fps, stage says"
        f" {status.fps:.1f}; nominal {nominal:g}, ratio {read / elapsed / nominal:.3f}),"
        f" dropped {status.frames_dropped}, taken {len(ages)}, reconnects {status.reconnects}"
    )
    if ages:
        print(
            f"[{label}] frame age when taken: mean {statistics.mean(ages) * 1e3:.1f} ms,"
            f" max {max(ages) * 1e3:.1f} ms (one frame period is {1e3 / nominal:.1f} ms)"
        )


def file_stage(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.avi"
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 30, (640, 480))
        rng = np.random.default_rng(0)
        for _ in range(60):
            writer.write(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
        writer.release()
        run_stage(OpenCVSource(str(clip), "file"), seconds, "file 30 fps, 2 s loop", 30)


def mediapipe_hits(scene: SimulatedScene, seconds: float) -> None:
    import mediapipe as mp

    groups: dict[str, list[int]] = {"looking": [], "backs only": [], "empty": [], "other": []}
    for index in range(0, int(seconds * scene.fps), 5):
        people = scene.people(index)
        if not people:
            groups["empty"].append(index)
        elif any(p.looking and not p.walking and 0.1 < p.x < 0.9 for p in people):
            groups["looking"].append(index)
        elif all(p.pose is Pose.AWAY for p in people):
            groups["backs only"].append(index)
        else:
            groups["other"].append(index)
    detect_times = []
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as det:
        for name, indices in groups.items():
            hits = 0
            for index in indices[:150]:
                image = scene.frame(index)
                started = time.perf_counter()
                hits += bool(det.process(image).detections)
                detect_times.append(time.perf_counter() - started)
            n = min(len(indices), 150)
            print(f"[mediapipe] {name:10s}: a face found in {hits}/{n} frames ({hits / max(n, 1):.0%})")
    print(f"[mediapipe] full-range detection {statistics.mean(detect_times) * 1e3:.1f} ms/frame at 640x480")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-mediapipe", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    scene = SimulatedScene(640, 480, 30.0, seed=0)
    print(f"[render] cast of {len(scene.cast)} loaded in {time.perf_counter() - started:.2f} s")
    render_cost(scene, 300)
    run_stage(SimulatedSource(640, 480, 30.0), args.seconds, "simulated 30 fps", 30)
    file_stage(args.seconds)
    if not args.no_mediapipe:
        mediapipe_hits(scene, 600)


if __name__ == "__main__":
    main()
