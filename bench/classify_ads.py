"""How fast the subject classifier is: seconds per minute of 1080p video and per still image.

    .venv/bin/python bench/classify_ads.py [--repeats 3] [--threads 2]

Generates a 60-s 1920x1080 H.264 commercial (8 shots cut from scikit-image photos, slow zooms, an
end card) into a temporary folder, then times ``SubjectClassifier.classify`` on it and on a 1080p
still. Prints wall seconds and CPU seconds (this process plus its ffmpeg children: the machine is
shared, so CPU time is the steadier figure), and a baseline measured in the same run: decoding every
frame of the same video with OpenCV, which any sampler that reads the whole video pays before it
classifies anything. No figure is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from signage.media import write_h264

W, H, FPS, SECONDS = 1920, 1080, 25, 60
SHOTS = ("coffee", "chelsea", "astronaut", "rocket", "coffee", "chelsea", "immunohistochemistry", "cat")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``fn`` over ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), cpu_seconds()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(cpu_seconds() - c0)
    return statistics.median(walls), statistics.median(cpus)


def make_commercial(path: Path) -> None:
    """A 1080p H.264 commercial: slow zooms on photos that ship with scikit-image, then an end card."""
    per_shot = SECONDS * FPS // (len(SHOTS) + 1)

    def frames() -> Iterator[np.ndarray]:
        for name in SHOTS:
            rgb = getattr(data, name)()
            bgr = np.ascontiguousarray((np.dstack([rgb] * 3) if rgb.ndim == 2 else rgb)[:, :, ::-1])
            ph, pw = bgr.shape[:2]
            for i in range(per_shot):
                zoom = 1.0 + 0.25 * i / per_shot
                ch, cw = int(ph / zoom), int(pw / zoom)
                y, x = (ph - ch) // 2, (pw - cw) // 2
                yield cv2.resize(bgr[y : y + ch, x : x + cw], (W, H))
        card = np.full((H, W, 3), 250, np.uint8)
        cv2.putText(card, "Fresh every morning", (420, 560), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (30, 30, 30), 6)
        for _ in range(SECONDS * FPS - per_shot * len(SHOTS)):
            yield card

    write_h264(path, frames(), (W, H), FPS)


def decode_everything(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        ok, _ = capture.retrieve()
        count += ok
    capture.release()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from classifier.subjects.classifier import SubjectClassifier
    from classifier.subjects.taxonomy import load_subjects

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    with tempfile.TemporaryDirectory() as tmp:
        video, still = Path(tmp) / "commercial-1080p.mp4", Path(tmp) / "poster-1080p.png"
        t0 = time.perf_counter()
        make_commercial(video)
        print(
            f"generated {video.name}: {SECONDS} s, {W}x{H} H.264, {video.stat().st_size / 1e6:.1f} MB "
            f"in {time.perf_counter() - t0:.0f} s"
        )
        cv2.imwrite(str(still), cv2.resize(np.ascontiguousarray(data.coffee()[:, :, ::-1]), (W, H)))

        w0 = time.perf_counter()
        classifier = SubjectClassifier(load_subjects())  # cached text embeddings; models loaded once
        print(f"classifier start-up: {time.perf_counter() - w0:.2f} s (once per process)")
        classifier.classify(still)  # warm-up: first torch call allocates

        frames: list[object] = []
        sample_wall, sample_cpu = timed(lambda: frames.extend(classifier.frames(video)), args.repeats)
        video_wall, video_cpu = timed(lambda: classifier.classify(video), args.repeats)
        image_wall, image_cpu = timed(lambda: classifier.classify(still), args.repeats)
        base_wall, base_cpu = timed(lambda: decode_everything(video), 1)
        scores = classifier.classify(video)

        per_minute = 60.0 / SECONDS
        print(f"frames classified per video: {len(frames) // args.repeats}")
        print(
            f"video  : {video_wall * per_minute:.2f} s wall / {video_cpu * per_minute:.2f} s CPU "
            f"per minute of 1080p video (frame sampling alone {sample_wall:.2f} s wall, {sample_cpu:.2f} s CPU)"
        )
        print(f"image  : {image_wall:.2f} s wall / {image_cpu:.2f} s CPU per 1080p still")
        print(
            f"baseline (OpenCV decodes every frame, no classification): {base_wall * per_minute:.2f} s wall / "
            f"{base_cpu * per_minute:.2f} s CPU per minute"
        )
        print(f"ratio baseline / ours: {base_wall / video_wall:.1f}x wall, {base_cpu / video_cpu:.1f}x CPU")
        print("video subjects: " + ", ".join(f"{s.subject_id} {s.score:.2f}" for s in scores.scores[:3]))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
