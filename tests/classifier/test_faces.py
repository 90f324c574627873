"""The MediaPipe face adapter on real photos that ship with dependencies, and the head-pose maths."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from matplotlib import cbook
from matplotlib.image import imread

from classifier.faces import FakeFaceDetector, MediaPipeFaces
from classifier.headpose import pose_from_keypoints, pose_from_mesh
from classifier.types import FaceObservation


def grace_hopper() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.ascontiguousarray(imread(str(path))[:, :, :3])


@pytest.fixture(scope="module")
def faces() -> Iterator[MediaPipeFaces]:
    detector = MediaPipeFaces()
    yield detector
    detector.close()


def test_finds_grace_hoppers_face_frontal(faces: MediaPipeFaces) -> None:
    image = grace_hopper()  # 512 x 600, her face is around x 170-370, y 130-330
    found = faces.detect(image)
    assert len(found) == 1
    face = found[0]
    cx, cy = face.center
    assert 220 < cx < 320 and 180 < cy < 280
    assert 150 < face.width < 260
    assert face.score > 0.7
    assert face.right_eye is not None and face.left_eye is not None
    assert face.right_eye[0] < face.left_eye[0]  # the person's right eye is on the image left
    assert face.yaw_deg is not None and face.pitch_deg is not None
    assert abs(face.yaw_deg) < 15  # she faces the camera
    assert abs(face.pitch_deg) < 20


def test_astronaut_face_and_mirror_flips_nothing_big(faces: MediaPipeFaces) -> None:
    from skimage import data

    image = data.astronaut()
    found = faces.detect(image)
    assert len(found) == 1 and found[0].yaw_deg is not None
    mirrored = faces.detect(np.ascontiguousarray(image[:, ::-1]))
    assert len(mirrored) == 1 and mirrored[0].yaw_deg is not None
    # A mirror image turns a face by minus its yaw: the estimates agree within a few degrees.
    assert found[0].yaw_deg == pytest.approx(-mirrored[0].yaw_deg, abs=8.0)


def test_a_turned_face_has_a_large_yaw_with_the_right_sign(faces: MediaPipeFaces) -> None:
    # Squash the right half of the face: the nose now sits toward the image right, like a head turned right.
    image = grace_hopper()
    left, right = image[:, :270], image[:, 270:]
    import cv2

    squashed = cv2.resize(right, (right.shape[1] // 3, right.shape[0]))
    turned = np.ascontiguousarray(np.hstack([left, squashed]))
    found = faces.detect(turned)
    assert len(found) == 1, "the detector (a required dependency, pinned) must find the turned face"
    assert found[0].yaw_deg is not None and found[0].yaw_deg > 10


def test_no_face_in_a_blank_frame(faces: MediaPipeFaces) -> None:
    assert faces.detect(np.full((480, 640, 3), 128, dtype=np.uint8)) == ()


@pytest.mark.parametrize(
    "bad",
    [np.zeros((480, 640), dtype=np.uint8), np.zeros((480, 640, 3), dtype=np.float32), "frame.png"],
)
def test_bad_input_is_one_clear_sentence(faces: MediaPipeFaces, bad: object) -> None:
    with pytest.raises(ValueError, match="face detection needs"):
        faces.detect(bad)  # type: ignore[arg-type]


def test_keypoint_pose_sees_a_frontal_face_as_frontal() -> None:
    # The generic head's keypoints projected by a camera 600 mm away, straight on.
    points = [(288.0, 205.0), (352.0, 205.0), (320.0, 240.0), (320.0, 270.0), (250.0, 232.0), (390.0, 232.0)]
    pose = pose_from_keypoints(points, (640, 480))
    assert pose is not None
    assert abs(pose[0]) < 8 and abs(pose[1]) < 12


@pytest.mark.parametrize("yaw", [-40.0, -20.0, 0.0, 25.0, 45.0])
def test_mesh_pose_reads_a_rotated_face(yaw: float) -> None:
    # Outer eye corners, forehead and chin of a face turned by `yaw` toward the image right
    # (x right, y down, z away from the camera).
    a = math.radians(yaw)

    def turn(x: float, y: float, z: float) -> tuple[float, float, float]:
        return (x * math.cos(a) - z * math.sin(a), y, x * math.sin(a) + z * math.cos(a))

    points = [turn(-45, -34, 27), turn(45, -34, 27), turn(0, -80, 20), turn(0, 66, 13)]
    pose = pose_from_mesh(points)
    assert pose is not None
    assert pose[0] == pytest.approx(yaw, abs=0.5)
    # The forehead-chin line leans back a little, so a level face reads a few degrees of pitch.
    assert abs(pose[1]) < 5


def test_fake_detector_replays_its_script() -> None:
    a = FaceObservation(x=1.0, y=2.0, width=30.0, height=30.0, score=0.9)
    fake = FakeFaceDetector([[a], []])
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    assert fake.detect(frame) == (a,)
    assert fake.detect(frame) == ()
    assert fake.detect(frame) == ()
    assert fake.calls == 3


def test_eyes_match_what_training_aligns_crops_with(faces: MediaPipeFaces) -> None:
    # Training aligns dataset photos on FaceCropper's eyes; run-time eyes must agree, or crops scale differently.
    from classifier.crop import FaceCropper

    image = grace_hopper()
    face = faces.detect(image)[0]
    cropper = FaceCropper()
    found = cropper.detect(image)
    cropper.close()
    assert found is not None and face.right_eye is not None and face.left_eye is not None
    _, _, train_right, train_left = found
    train_distance = math.dist(train_right, train_left)
    assert math.dist(face.right_eye, face.left_eye) == pytest.approx(train_distance, rel=0.05)
    assert math.dist(face.right_eye, train_right) < 0.15 * train_distance
    assert math.dist(face.left_eye, train_left) < 0.15 * train_distance
