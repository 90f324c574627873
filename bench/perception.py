"""Benchmark: the whole perception stage at 640x480 with 3 real faces, against bare MediaPipe detection.

    .venv/bin/python bench/perception.py [--seconds 5] [--models models] [--no-player] [--no-xvfb]

Prints frames/s of (a) bare full-range MediaPipe detection and (b) the whole stage (detection,
face mesh, tracker, crops and the attribute model, throttled as in production), both measured
in this run on the same frames, their ratio, (c) the whole stage again while the real player
(``signage run --headless``: the sample catalog through pygame and VLC, no camera of its own)
plays in a second process, (d) the same with the player drawing a full-screen 1920x1080 window on
a real X server (Xvfb), as a store screen does, and the attribute model's ms per face (batched, one
torch thread). The faces are real photos shipped in dependencies (matplotlib's grace_hopper,
scikit-image's astronaut), pasted onto a 640x480 canvas that shifts a little each frame.
No wall time is asserted: on a shared 2-core machine the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.attributes import AttributeModel  # noqa: E402
from classifier.faces import MediaPipeFaces  # noqa: E402
from classifier.types import FaceObservation  # noqa: E402
from signage.audience import Perception, Tracker  # noqa: E402


def _faces() -> list[np.ndarray]:
    from matplotlib import cbook
    from matplotlib.image import imread
    from skimage import data

    grace = np.asarray(imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))))[:, :, :3]
    astronaut = data.astronaut()
    # Head-and-shoulders cuts around each face, so the detector sees a person, not a bare face.
    return [
        np.ascontiguousarray(grace[60:420, 110:430]),
        np.ascontiguousarray(astronaut[10:260, 110:340]),
        np.ascontiguousarray(grace[60:420, 110:430][:, ::-1]),  # mirrored: a third face
    ]


def make_canvas() -> np.ndarray:
    """640x480 RGB with three faces of different sizes (people at different distances)."""
    canvas = np.full((480, 640, 3), 90, dtype=np.uint8)
    canvas[:, :, 2] = 70
    for (x, y, width), face in zip([(20, 120, 200), (250, 60, 170), (450, 180, 150)], _faces(), strict=True):
        height = round(face.shape[0] * width / face.shape[1])
        resized = cv2.resize(face, (width, height), interpolation=cv2.INTER_AREA)
        h = min(height, 480 - y)
        canvas[y : y + h, x : x + width] = resized[:h]
    return canvas


def frames(canvas: np.ndarray, n: int) -> list[np.ndarray]:
    """Slightly shifted copies, so trackers and the mesh do some real work each frame."""
    out = []
    for i in range(n):
        dx, dy = round(4 * np.sin(i / 5)), round(3 * np.cos(i / 7))
        out.append(np.ascontiguousarray(np.roll(canvas, (dy, dx), axis=(0, 1))))
    return out


def rate(step: Callable[[int], object], seconds: float) -> tuple[float, int]:
    """Frames per second of ``step(i)`` over about ``seconds`` (after two warm-up calls)."""
    step(0)
    step(1)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(count + 2)
        count += 1
    return count / (time.perf_counter() - start), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--no-player", action="store_true", help="skip the figures with the player running")
    parser.add_argument("--no-xvfb", action="store_true", help="skip the figure with the player under Xvfb")
    args = parser.parse_args()

    import mediapipe as mp
    import torch

    torch.set_num_threads(1)  # the model shares two cores with the player and the camera
    canvas = make_canvas()
    clip = frames(canvas, 64)

    from classifier.attributes import ModelError

    try:
        model = AttributeModel.load(args.models)
    except ModelError as exc:
        # Speed depends on the architecture, not on the weights: time an untrained copy instead.
        from classifier.attributes.model import Calibration
        from classifier.attributes.network import AttributeNet
        from classifier.attributes.training import TrainConfig

        size = next(f.default for f in fields(TrainConfig) if f.name == "input_size")
        assert isinstance(size, int)
        print(f"{exc} Timing an untrained network of the same architecture ({size} px input) instead.")
        model = AttributeModel.from_network(AttributeNet(), Calibration(), size)

    bare = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    found = bare.process(canvas).detections or []
    print(f"canvas 640x480 with {len(found)} faces found by full-range detection")
    bare_fps, _ = rate(lambda i: bare.process(clip[i % len(clip)]), args.seconds)
    bare.close()

    stage_fps, n, perception = stage_rate(MediaPipeFaces(), model, clip, args.seconds)
    snapshot = perception.tracker.snapshot((n + 1) / 30.0)
    light_fps, _, _ = stage_rate(MediaPipeFaces(use_mesh=False), model, clip, args.seconds)

    print(f"bare MediaPipe full-range detection: {bare_fps:7.1f} frames/s")
    print(
        f"whole perception stage:              {stage_fps:7.1f} frames/s"
        f"  (ratio to bare detection {stage_fps / bare_fps:.2f}; {snapshot.present} tracks,"
        f" {perception.faces_classified} faces classified in {n + 2} frames)"
    )
    print(
        f"whole stage without face mesh:       {light_fps:7.1f} frames/s  (ratio {light_fps / bare_fps:.2f})"
    )
    if not args.no_player:
        busy_fps = stage_with_player(model, clip, args.seconds)
        if busy_fps is not None:
            print(
                f"whole stage while the player plays:  {busy_fps:7.1f} frames/s"
                f"  (ratio to the stage alone {busy_fps / stage_fps:.2f})"
            )
        x_fps = None if args.no_xvfb else stage_with_player(model, clip, args.seconds, xvfb=True)
        if x_fps is not None:
            print(
                f"... player at 1920x1080 under Xvfb:  {x_fps:7.1f} frames/s"
                f"  (ratio to the stage alone {x_fps / stage_fps:.2f})"
            )

    from classifier.crop import crop_face

    faces = detector_faces(canvas)
    crops = np.stack(
        [crop_face(canvas, (f.x, f.y, f.width, f.height), f.right_eye, f.left_eye) for f in faces]
    )
    for batch in (1, len(crops), 8):
        batch_crops = np.resize(crops, (batch, *crops.shape[1:]))
        model.predict(batch_crops)
        times = []
        for _ in range(max(5, round(args.seconds * 4))):
            start = time.perf_counter()
            model.predict(batch_crops)
            times.append((time.perf_counter() - start) * 1000 / batch)
        print(
            f"attribute model, batch {batch}: {statistics.median(times):5.2f} ms per face (median, 1 thread)"
        )


def stage_rate(
    detector: MediaPipeFaces, model: AttributeModel, clip: list[np.ndarray], seconds: float
) -> tuple[float, int, Perception]:
    """Frames/s of the whole stage on ``detector`` (closed afterwards), the frames timed, and the stage."""
    perception = Perception(detector, Tracker(), model)
    try:
        # Stage time advances at 30 fps of camera time, so classification is throttled as in production.
        fps, n = rate(lambda i: perception.process(clip[i % len(clip)], i / 30.0), seconds)
    finally:
        detector.close()
    return fps, n, perception


def _first_play_logged(player: subprocess.Popen[bytes], database: Path, timeout_s: float) -> bool:
    """Wait until the player has an ad on screen (its first play row), or has exited, or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and player.poll() is None:
        if database.is_file():
            try:
                with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
                    if db.execute("SELECT count(*) FROM play").fetchone()[0] > 0:
                        return True
            except sqlite3.OperationalError:  # schema not migrated yet
                pass
        time.sleep(0.5)
    return False


@contextmanager
def xvfb_display(width: int, height: int) -> Iterator[str | None]:
    """A virtual X server of this size for the duration (None when Xvfb is not installed)."""
    if shutil.which("Xvfb") is None:
        yield None
        return
    display = f":{90 + os.getpid() % 100}"
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield display
    finally:
        server.terminate()
        server.wait(10)


def stage_with_player(
    model: AttributeModel, clip: list[np.ndarray], seconds: float, xvfb: bool = False
) -> float | None:
    """The whole stage's frames/s while ``signage run`` plays the sample catalog in another process:
    headless (SDL's dummy driver, 1280x720), or with ``xvfb`` full screen at 1920x1080 on Xvfb."""
    signage = Path(sys.executable).with_name("signage")
    if not (ROOT / "ads" / "media").is_dir() or not signage.is_file():
        print("player figure skipped: run `make samples` first (needs the sample creatives)")
        return None
    width, height = (1920, 1080) if xvfb else (1280, 720)
    with tempfile.TemporaryDirectory() as tmp, xvfb_display(width, height) as display:
        if xvfb and display is None:
            print("Xvfb figure skipped: Xvfb is not installed (apt-get install xvfb)")
            return None
        config = Path(tmp) / "signage.yaml"
        settings = {
            "data_dir": tmp,
            "camera": {"source": "none"},
            "perception": {"enabled": False},
            "display": {"fullscreen": xvfb, "width": width, "height": height},
            "log_level": "WARNING",
        }
        config.write_text(yaml.safe_dump(settings))
        env = {**os.environ, "SDL_AUDIODRIVER": "dummy"}
        command = [str(signage), "run", "--config", str(config), "--duration", str(seconds + 30)]
        if display is None:
            env["SDL_VIDEODRIVER"] = "dummy"
            command.append("--headless")
        else:
            env.update({"DISPLAY": display, "SDL_VIDEODRIVER": "x11"})
        player = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not _first_play_logged(player, Path(tmp) / "signage.db", timeout_s=30.0):
                print(f"player figure skipped: signage run played nothing (exit status {player.poll()})")
                return None
            fps, _, _ = stage_rate(MediaPipeFaces(), model, clip, seconds)
            return fps
        finally:
            player.terminate()
            player.wait(timeout=30)


def detector_faces(canvas: np.ndarray) -> tuple[FaceObservation, ...]:
    detector = MediaPipeFaces()
    try:
        return detector.detect(canvas)
    finally:
        detector.close()


if __name__ == "__main__":
    main()
