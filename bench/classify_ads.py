"""How fast the subject classifier is: seconds per minute of 1080p video and per still image.

    .venv/bin/python bench/classify_ads.py [--repeats 3] [--threads 2]

Generates a 60-s 1920x1080 H.264 commercial (8 shots cut from scikit-image photos, slow zooms, a
caption, an end card with a slogan) into a temporary folder, then times ``SubjectClassifier.classify``
with every signal on (frames, OCR, word matching, the trained scorer) on it and on a 1080p poster.
Prints wall seconds and CPU seconds (this process plus its ffmpeg children: the machine is shared,
so CPU time is the steadier figure), each stage's share (frame sampling, image model, OCR, scoring),
and a baseline measured in the same run: decoding every frame of the same video with OpenCV. Speech
is not a signal (see the README: Whisper tiny.en cost 1-10 s per minute of audio here and added
little that OCR had not read). No figure is asserted.
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

from classifier.subjects.classifier import Evidence, SubjectClassifier
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
        cv2.putText(
            card, "Fresh coffee every morning", (260, 520), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (30, 30, 30), 6
        )
        cv2.putText(card, "Espresso 2.50", (640, 680), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (30, 30, 30), 5)
        for _ in range(SECONDS * FPS - per_shot * len(SHOTS)):
            yield card

    write_h264(path, frames(), (W, H), FPS)


def stage_times(classifier: SubjectClassifier, path: Path, repeats: int) -> dict[str, float]:
    """Median wall seconds of each stage of ``classify`` on one file."""
    out: dict[str, list[float]] = {"sampling": [], "image model": [], "ocr": [], "scoring": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        media = classifier.sample(path)
        t1 = time.perf_counter()
        embedding = classifier.embed_frames(media.frames)
        t2 = time.perf_counter()
        lines = classifier.read_text(media.text_frames)
        t3 = time.perf_counter()
        classifier.score(Evidence(embedding, lines, media.duration_s))
        t4 = time.perf_counter()
        for key, value in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            out[key].append(value)
    return {k: statistics.median(v) for k, v in out.items()}


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
    from classifier.subjects.fusion import load_fusion
    from classifier.subjects.ocr import OcrEngine
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
        poster = cv2.resize(np.ascontiguousarray(data.coffee()[:, :, ::-1]), (W, H))
        cv2.putText(poster, "Morning espresso", (200, 160), cv2.FONT_HERSHEY_DUPLEX, 4.0, (255, 255, 255), 8)
        cv2.imwrite(str(still), poster)

        w0 = time.perf_counter()
        classifier = SubjectClassifier(load_subjects(), model=load_fusion(), ocr=OcrEngine(args.threads))
        print(f"classifier start-up: {time.perf_counter() - w0:.2f} s (once per process)")
        classifier.classify(still)  # warm-up: first calls allocate

        for name, path, unit, scale in (
            ("video", video, "per minute of 1080p video", 60.0 / SECONDS),
            ("still", still, "per 1080p still", 1.0),
        ):
            wall, cpu = timed(lambda p=path: classifier.classify(p), args.repeats)  # type: ignore[misc]
            stages = stage_times(classifier, path, args.repeats)
            total = sum(stages.values())
            print(f"{name:6s}: {wall * scale:.2f} s wall / {cpu * scale:.2f} s CPU {unit}")
            print(
                "        shares: "
                + ", ".join(f"{k} {v * scale:.2f} s ({v / total:.0%})" for k, v in stages.items())
            )
        media = classifier.sample(video)
        print(
            f"frames per video: {len(media.frames)} for the image model, {len(media.text_frames)} read by OCR"
        )
        base_wall, base_cpu = timed(lambda: decode_everything(video), 1)
        print(
            f"baseline (OpenCV decodes every frame, no classification): {base_wall * 60 / SECONDS:.2f} s wall / "
            f"{base_cpu * 60 / SECONDS:.2f} s CPU per minute"
        )
        for name, path in (("video", video), ("still", still)):
            result = classifier.classify(path)
            top = ", ".join(f"{s.subject_id} {s.score:.2f}" for s in result.scores.scores[:3])
            print(f"{name} subjects: {top}; read: {' / '.join(result.screen_text)[:80]}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
