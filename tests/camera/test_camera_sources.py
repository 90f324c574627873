"""File/device sources through OpenCV, pacing, and parsing camera.source."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from signage.camera.base import NoCamera, SourceError
from signage.camera.factory import find_webcam, open_source
from signage.camera.opencv_source import OpenCVSource, redact_url
from signage.camera.pacing import Pacer
from signage.camera.simulated import SimulatedSource
from signage.clock import FakeClock
from signage.settings import CameraSettings

SETTINGS = CameraSettings()


class SleepRecorder:
    """A sleep that advances a fake clock instead of passing real time."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)


def write_clip(path: Path, frames: int, fps: float) -> None:
    """A small MJPG clip whose frame n is a flat grey of level 20 * n, with a blue left edge."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for n in range(frames):
        bgr = np.full((48, 64, 3), 20 * n, np.uint8)
        bgr[:, :8] = (255, 0, 0)  # pure blue in OpenCV's BGR order
        writer.write(bgr)
    writer.release()


def level(image: np.ndarray) -> int:
    return round(float(image[:, 16:].mean()) / 20)


def test_pacer_spaces_frames_and_does_not_burst_after_a_stall() -> None:
    clock = FakeClock()
    sleep = SleepRecorder(clock)
    pacer = Pacer(20, clock, sleep)
    pacer.wait_next()
    pacer.wait_next()
    pacer.wait_next()
    assert sleep.sleeps == pytest.approx([0.05, 0.05])
    clock.advance(3.0)  # the consumer stalled: no catch-up burst, the schedule restarts
    pacer.wait_next()
    pacer.wait_next()
    assert sleep.sleeps[2:] == pytest.approx([0.05])


def test_a_file_is_paced_to_its_frame_rate_and_loops(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    write_clip(clip, frames=6, fps=20)
    clock = FakeClock()
    sleep = SleepRecorder(clock)
    source = OpenCVSource(str(clip), "file", clock=clock, sleep=sleep)
    source.open()
    start = clock()
    images = [source.read() for _ in range(15)]
    source.close()
    assert source.file_fps == pytest.approx(20)
    assert all(image is not None and image.shape == (48, 64, 3) for image in images)
    assert [level(i) for i in images if i is not None] == [0, 1, 2, 3, 4, 5] * 2 + [0, 1, 2]
    assert clock() - start == pytest.approx(14 / 20)  # 15 frames span 14 frame periods
    first = images[0]
    assert first is not None
    red, _green, blue = (int(c) for c in first[5, 2])
    assert blue > 200 and red < 60  # converted to RGB once, at the source


def test_a_file_paces_in_real_time(tmp_path: Path) -> None:
    import time

    clip = tmp_path / "clip.avi"
    write_clip(clip, frames=4, fps=50)
    source = OpenCVSource(str(clip), "file")
    source.open()
    started = time.monotonic()
    for _ in range(11):
        assert source.read() is not None
    elapsed = time.monotonic() - started
    source.close()
    assert elapsed >= 0.9 * 10 / 50  # not as fast as the decoder can go


def test_a_missing_file_names_itself(tmp_path: Path) -> None:
    source = OpenCVSource(str(tmp_path / "nope.mp4"), "file")
    with pytest.raises(SourceError, match=r"nope\.mp4 does not exist"):
        source.open()
    assert source.read() is None


def test_a_corrupt_file_fails_to_open_or_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    source = OpenCVSource(str(bad), "file")
    try:
        source.open()
    except SourceError as exc:
        assert "could not open" in str(exc)
    else:
        assert source.read() is None  # no frame ever: no endless rewinding either
    source.close()


def test_no_webcam_opens_on_a_machine_without_one() -> None:
    assert find_webcam(SETTINGS, candidates=[0, 1]) is None


def test_auto_falls_back_to_the_simulated_scene() -> None:
    assert isinstance(open_source("auto", SETTINGS), SimulatedSource)  # this machine has no camera
    assert isinstance(open_source("auto", SETTINGS, find=lambda s: None), SimulatedSource)
    webcam = OpenCVSource(0, "device")
    assert open_source("AUTO", SETTINGS, find=lambda s: webcam) is webcam


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("0", "webcam 0"),
        ("2", "webcam 2"),
        ("rtsp://user:secret@10.0.0.5/stream1", "stream rtsp://***@10.0.0.5/stream1"),
        ("http://cam.local/video.mjpg", "stream http://cam.local/video.mjpg"),
        ("/videos/store.mp4", "file /videos/store.mp4"),
        ("simulated", "simulated scene (seed 0)"),
        ("simulated:7", "simulated scene (seed 7)"),
        ("none", "none"),
    ],
)
def test_source_specs(spec: str, name: str) -> None:
    assert open_source(spec, SETTINGS).name == name


def test_none_is_no_camera_and_empty_is_an_error() -> None:
    assert isinstance(open_source(" none ", SETTINGS), NoCamera)
    with pytest.raises(SourceError, match=r"camera\.source is empty"):
        open_source("  ", SETTINGS)


def test_credentials_never_reach_the_name() -> None:
    assert redact_url("rtsp://admin:pw@host:554/x") == "rtsp://***@host:554/x"
    assert redact_url("rtsp://host/x") == "rtsp://host/x"
