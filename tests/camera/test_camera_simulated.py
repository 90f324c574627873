"""The simulated store scene: deterministic, people come and go, MediaPipe finds their faces."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from signage.camera.capture import CameraStage
from signage.camera.scene import PersonView, Pose, SceneScript
from signage.camera.simulated import SimulatedScene, SimulatedSource
from signage.clock import FakeClock
from signage.settings import CameraSettings

FPS = 10.0


@pytest.fixture(scope="module")
def scene() -> SimulatedScene:
    return SimulatedScene(640, 480, FPS, seed=1)


def test_the_same_seed_gives_the_same_scene(scene: SimulatedScene) -> None:
    again = SimulatedScene(640, 480, FPS, seed=1)
    for index in (5, 130, 777):
        assert scene.people(index) == again.people(index)
        assert np.array_equal(scene.frame(index), again.frame(index))
    other = SceneScript(2, len(scene.cast))
    times = [t * 0.5 for t in range(400)]
    assert [scene.script.people_at(t) for t in times] != [other.people_at(t) for t in times]


def test_answers_do_not_depend_on_the_order_of_questions() -> None:
    forward = SceneScript(5, 12)
    backward = SceneScript(5, 12)
    times = [t * 0.7 for t in range(300)]
    late_first = {t: backward.people_at(t) for t in reversed(times)}
    assert all(forward.people_at(t) == late_first[t] for t in times)


def test_people_arrive_linger_look_and_leave() -> None:
    script = SceneScript(0, 12)
    samples = [script.people_at(t * 0.25) for t in range(4 * 600)]
    counts = [len(people) for people in samples]
    assert min(counts) == 0 and max(counts) >= 2
    assert max(counts) <= 3
    assert counts[4] >= 1  # someone walks in within the first second
    poses = {p.pose for people in samples for p in people}
    assert poses == set(Pose)
    by_visitor: dict[int, list[PersonView]] = {}
    for people in samples:
        for person in people:
            by_visitor.setdefault(person.visitor_id, []).append(person)
    still_there = {p.visitor_id for p in samples[-1]}
    assert len(by_visitor) >= 20
    for visitor, views in by_visitor.items():
        if visitor in still_there:
            continue
        assert views[0].walking and views[-1].walking  # walks in, lingers, walks out
        assert any(not v.walking for v in views)
        lingering = {round(v.x, 6) for v in views if not v.walking}
        assert len(lingering) == 1  # stands still while lingering


def test_the_source_is_paced_and_never_repeats_a_frame() -> None:
    clock = FakeClock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    source = SimulatedSource(320, 240, 25, seed=3, cast_size=3, clock=clock, sleep=sleep)
    assert source.read() is None  # not opened yet
    source.open()
    frames = [f for _ in range(6) if (f := source.read()) is not None]
    assert len(frames) == 6
    assert sum(slept) == pytest.approx(5 / 25)
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames)
    assert all(not np.array_equal(a, b) for a, b in itertools.pairwise(frames))
    source.close()
    source.open()
    assert source.index == 6  # reopening continues the scene rather than restarting it


def _faces(detector: Any, image: np.ndarray) -> int:
    return len(detector.process(image).detections or [])


@pytest.fixture(scope="module")
def detector() -> Iterator[Any]:
    import mediapipe as mp

    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as det:
        yield det


@pytest.mark.slow  # importing MediaPipe alone takes seconds on a busy 2-core machine
def test_mediapipe_finds_the_faces_of_people_looking_at_the_screen(
    scene: SimulatedScene, detector: Any
) -> None:
    frontal, empty = [], []
    for index in range(0, int(300 * FPS), 7):
        people = scene.people(index)
        if not people:
            empty.append(index)
        elif any(p.looking and not p.walking and 0.1 < p.x < 0.9 for p in people):
            frontal.append(index)
    assert len(frontal) >= 30 and len(empty) >= 10
    found = [_faces(detector, scene.frame(i)) >= 1 for i in frontal[:30]]
    ghosts = [_faces(detector, scene.frame(i)) >= 1 for i in empty[:10]]
    assert sum(found) >= 0.8 * len(found)
    assert sum(ghosts) == 0  # the empty store has no faces in it


@pytest.mark.slow
def test_every_cast_member_is_a_face_from_the_front_and_not_from_behind(
    scene: SimulatedScene, detector: Any
) -> None:
    def view(cast: int, pose: Pose, distance: float) -> PersonView:
        return PersonView(0, cast, 0.5, distance, pose, False, cast % 2 == 1, False)

    fronts: list[bool] = []
    backs: list[bool] = []
    for cast in range(len(scene.cast)):
        for distance in (1.4, 2.1):
            for pose, out in ((Pose.FRONTAL, fronts), (Pose.AWAY, backs)):
                image = scene.renderer.render((view(cast, pose, distance),), 1.0, 0)
                out.append(_faces(detector, image) >= 1)
    assert sum(fronts) >= 0.9 * len(fronts)
    # Beyond ~2.7 m full-range detection does take a small back-of-head blob for a face now and
    # then (score ~0.6): a known weakness of this scene, so only nearer people are checked.
    assert sum(backs) <= 0.15 * len(backs)


def test_the_capture_stage_runs_on_the_simulated_scene() -> None:
    source = SimulatedSource(320, 240, 20, seed=0, cast_size=3)
    stop = threading.Event()
    stage = CameraStage(source, CameraSettings(), stop)
    stage.start()
    try:
        frame = stage.take_new(0, timeout_s=10)
        assert frame is not None and frame.image.shape == (240, 320, 3)
        later = stage.take_new(frame.seq, timeout_s=2)
        assert later is not None and later.seq > frame.seq
        assert stage.status().online
    finally:
        stop.set()
        assert stage.join(timeout=5)
