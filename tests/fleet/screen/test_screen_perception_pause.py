"""Outside opening hours perception pauses: no frame is processed and the audience is unknown."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from classifier.faces import FakeFaceDetector
from classifier.types import FaceObservation
from signage.audience import FakeAttributeModel, FakeLatestFrame, Perception, PerceptionStage, Tracker
from signage.camera.base import CameraFrame

IMAGE = np.zeros((120, 160, 3), dtype=np.uint8)
FACE = FaceObservation(x=50.0, y=30.0, width=40.0, height=40.0, score=0.9, yaw_deg=0.0, pitch_deg=0.0)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


def test_a_paused_stage_processes_nothing_and_resumes_with_the_next_frame() -> None:
    camera = FakeLatestFrame()
    stop, paused = threading.Event(), threading.Event()
    perception = Perception(
        FakeFaceDetector([[FACE]], loop=True),
        Tracker(),
        FakeAttributeModel(),
        cropper=lambda image, face: np.zeros((32, 32, 3), np.uint8),
    )
    stage = PerceptionStage(camera, perception, stop, idle_s=0.001, paused=paused)
    stage.start()
    try:
        camera.put(CameraFrame(IMAGE, time.monotonic(), 0))
        _wait_for(lambda: stage.snapshot().known, "the stage never saw the first frame")
        paused.set()
        _wait_for(lambda: not stage.snapshot().known, "the audience stayed known after the pause")
        processed = stage.stats().frames_processed
        for seq in range(1, 6):
            camera.put(CameraFrame(IMAGE, time.monotonic(), seq))
            time.sleep(0.01)
        assert stage.stats().frames_processed == processed and not stage.snapshot().known
        paused.clear()
        camera.put(CameraFrame(IMAGE, time.monotonic(), 50))
        _wait_for(lambda: stage.snapshot().known, "perception did not resume")
        assert stage.stats().frames_dropped == 0, "frames missed while paused are not dropped ones"
    finally:
        stop.set()
        stage.join(timeout=2.0)
