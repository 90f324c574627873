"""The perception stage on fakes: latest frame wins, drops counted, unknown while offline, thread-safe."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from classifier.faces import FakeFaceDetector
from classifier.types import FaceObservation
from signage.audience import FakeAttributeModel, FakeLatestFrame, Perception, PerceptionStage, Tracker
from signage.audience.stage import SceneCut
from signage.camera.base import CameraFrame
from signage.clock import FakeClock

IMAGE = np.zeros((120, 160, 3), dtype=np.uint8)
FACE = FaceObservation(x=50.0, y=30.0, width=40.0, height=40.0, score=0.9, yaw_deg=0.0, pitch_deg=0.0)


def crop(image: np.ndarray, face: FaceObservation) -> np.ndarray:
    return np.zeros((32, 32, 3), dtype=np.uint8)


def make(
    script: list[list[FaceObservation]], loop: bool = False
) -> tuple[FakeLatestFrame, FakeFaceDetector, FakeAttributeModel, PerceptionStage, FakeClock]:
    camera = FakeLatestFrame()
    detector = FakeFaceDetector(script, loop=loop)
    model = FakeAttributeModel()
    perception = Perception(detector, Tracker(), model, cropper=crop)
    clock = FakeClock(start=100.0)
    stage = PerceptionStage(camera, perception, threading.Event(), clock=clock)
    return camera, detector, model, stage, clock


def test_unknown_until_a_frame_and_while_offline() -> None:
    camera, _, _, stage, clock = make([[FACE]], loop=True)
    assert not stage.snapshot().known
    assert stage.step() is False
    assert not stage.snapshot().known
    for seq in range(5):
        clock.advance(0.033)
        camera.put(CameraFrame(IMAGE, clock(), seq))
        assert stage.step() is True
    snap = stage.snapshot()
    assert snap.known and snap.present == 1
    camera.put(None)  # the camera went offline
    assert stage.step() is False
    assert not stage.snapshot().known
    assert stage.snapshot().possible_minor_present  # unknown audience: cannot rule a minor out
    assert not stage.stats().online


def test_a_frozen_camera_counts_as_offline() -> None:
    camera, _, _, stage, clock = make([[FACE]], loop=True)
    camera.put(CameraFrame(IMAGE, clock(), 0))
    assert stage.step()
    assert stage.snapshot().known
    clock.advance(5.0)  # the same old frame, 5 s later
    stage.step()
    assert not stage.snapshot().known


def test_latest_frame_wins_and_drops_are_counted() -> None:
    camera, detector, _, stage, clock = make([[FACE]], loop=True)
    camera.put(CameraFrame(IMAGE, clock(), 0))
    stage.step()
    stage.step()  # the same frame again: not processed twice
    camera.put(CameraFrame(IMAGE, clock() + 0.1, 4))  # frames 1-3 were overwritten before we looked
    stage.step()
    stats = stage.stats()
    assert stats.frames_processed == 2
    assert stats.frames_dropped == 3
    assert detector.calls == 2


def test_faces_are_classified_in_batches_not_every_frame() -> None:
    two = [
        FACE,
        FaceObservation(x=110.0, y=30.0, width=40.0, height=40.0, score=0.9, yaw_deg=0.0, pitch_deg=0.0),
    ]
    camera, _, model, stage, clock = make([two], loop=True)
    for seq in range(60):
        clock.advance(1 / 30)
        camera.put(CameraFrame(IMAGE, clock(), seq))
        stage.step()
    snap = stage.snapshot()
    assert snap.present == 2
    assert all(t.samples > 0 and t.age_years == pytest.approx(35.0) for t in snap.tracks)
    assert max(model.batches) == 2  # both faces in one call
    assert model.faces < 60  # throttled: not two faces every frame
    assert stage.stats().faces_classified == model.faces


def test_a_failing_frame_does_not_stop_perception() -> None:
    camera, _, _, stage, clock = make([[FACE]], loop=True)
    camera.put(CameraFrame(np.zeros((4, 4), dtype=np.uint8), clock(), 0))  # not an RGB image
    assert stage.step()
    assert stage.stats().errors == 1
    camera.put(CameraFrame(IMAGE, clock() + 0.03, 1))
    stage.step()
    assert stage.stats().frames_processed == 1


def test_thread_runs_until_stopped() -> None:
    camera = FakeLatestFrame()
    stop = threading.Event()
    perception = Perception(
        FakeFaceDetector([[FACE]], loop=True), Tracker(), FakeAttributeModel(), cropper=crop
    )
    stage = PerceptionStage(camera, perception, stop, idle_s=0.001)
    stage.start()
    try:
        for seq in range(10):
            camera.put(CameraFrame(IMAGE, time.monotonic(), seq))
            deadline = time.monotonic() + 2.0
            while stage.stats().frames_processed + stage.stats().frames_dropped < seq + 1:
                assert time.monotonic() < deadline, "the stage did not pick up the frame"
                time.sleep(0.001)
    finally:
        stop.set()
        stage.join(timeout=2.0)
    assert stage.snapshot().known
    assert stage.snapshot().present == 1
    assert perception.detector.closed  # type: ignore[attr-defined]
    stats = stage.stats()
    assert stats.frames_processed + stats.frames_dropped == 10


def test_a_cut_in_the_view_ends_every_track() -> None:
    # Same face position before and after, but the whole view changed: a new person, not the old one.
    perception = Perception(FakeFaceDetector([[FACE]], loop=True), Tracker(), None, cropper=crop)
    dark, bright = IMAGE, np.full_like(IMAGE, 200)
    for i in range(10):
        snap = perception.process(dark, i / 30)
    assert [t.track_id for t in snap.tracks] == [1]
    for i in range(10, 20):
        snap = perception.process(bright, i / 30)
    assert [t.track_id for t in snap.tracks] == [2]


def test_people_moving_are_not_a_cut() -> None:
    cut = SceneCut(threshold=20.0)
    # A shop-like view: a gradient wall and a few dark shelves.
    scene = np.zeros((120, 160, 3), dtype=np.uint8)
    scene[:] = np.linspace(60, 200, 160, dtype=np.uint8)[None, :, None]
    scene[70:110, 10:60] = 30
    scene[60:110, 100:150] = 40
    assert not cut(scene)
    moved = scene.copy()
    moved[40:100, 60:90] = np.invert(moved[40:100, 60:90])  # a person walks in
    assert not cut(moved)
    assert cut(np.invert(moved))  # everything changes
    never = SceneCut(threshold=0.0)
    assert not never(scene) and not never(np.invert(scene))
