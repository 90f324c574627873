"""The face edge: MediaPipe detection + face mesh in, ``FaceObservation`` out.

Detection uses the full-range model (``model_selection=1``: viewers stand 1-5 m from the screen).
The face mesh gives eye centres and the head pose where it finds the face; where it does not
(small, distant faces), the detector's six keypoints stand in, with a coarser pose (measured on
the Hamilton clip: median 7° from the mesh, but off by 50° one time in ten). Mesh eyes are
preferred because they agree with the eyes training aligned its crops on (``detect_and_crop``'s
short-range keypoints): eye distance within 1.6 % on average over grace_hopper and astronaut,
against 7 % for the full-range keypoints, and the crop's scale follows the eye distance.
No MediaPipe type leaves this module, and frames are only read, never kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from classifier.headpose import MESH_POSE_INDICES, Point3, pose_from_keypoints, pose_from_mesh
from classifier.types import FaceObservation, Point

log = logging.getLogger(__name__)

RGBImage = npt.NDArray[np.uint8]

# Mesh eye corners (outer, inner) for each eye; "right" is the person's right (image left).
_RIGHT_EYE_CORNERS = (33, 133)
_LEFT_EYE_CORNERS = (362, 263)


class FaceDetector(Protocol):
    """Finds faces in one RGB frame."""

    def detect(self, image: RGBImage) -> tuple[FaceObservation, ...]: ...

    def close(self) -> None: ...


def check_image(image: object) -> RGBImage:
    """The image itself if it is an H x W x 3 uint8 array; else ValueError in one sentence."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"face detection needs an H x W x 3 RGB image, got {shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"face detection needs a uint8 image, got {image.dtype}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"face detection needs an image of at least 8 x 8 pixels, got {image.shape[:2]}")
    return image


class MediaPipeFaces:
    """Full-range MediaPipe face detection, refined by the face mesh.

    ``use_mesh=False`` skips the mesh (about half the cost) and takes pose from the keypoints only.
    Not thread-safe: one instance per thread.
    """

    def __init__(self, min_score: float = 0.5, max_faces: int = 6, use_mesh: bool = True) -> None:
        # MediaPipe's glog/TFLite read these when they load (the ``signage`` command also filters
        # the absl lines that ignore them: signage/quiet.py).
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import mediapipe as mp  # imported here so the package imports fast without it

        self._mp: Any = mp
        self._max_faces = max_faces
        self._use_mesh = use_mesh
        self._detector: Any = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_score
        )
        # One mesh per face count. In video mode a mesh re-runs its own detector on every frame
        # until it tracks ``max_num_faces`` faces, so a mesh sized to the faces actually present
        # only tracks landmarks from frame to frame: measured here, 3 faces cost 37 ms per frame
        # with max 3 against 57 ms with max 6.
        self._meshes: dict[int, Any] = {}

    def _mesh_for(self, count: int) -> Any:
        if count not in self._meshes:
            self._meshes[count] = self._mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False,
                max_num_faces=count,
                refine_landmarks=False,
                min_detection_confidence=0.5,
                min_tracking_confidence=0.5,
            )
        return self._meshes[count]

    def detect(self, image: RGBImage) -> tuple[FaceObservation, ...]:
        image = np.ascontiguousarray(check_image(image))
        height, width = image.shape[:2]
        detections = self._detector.process(image).detections or ()
        count = min(len(detections), self._max_faces)
        meshes = self._landmarks(image, count) if self._use_mesh and count else []
        observations = []
        for detection in detections:
            observation = _observation(detection, meshes, width, height)
            if observation is not None:
                observations.append(observation)
        return tuple(observations)

    def _landmarks(self, image: RGBImage, count: int) -> list[_Mesh]:
        height, width = image.shape[:2]
        result = self._mesh_for(count).process(image)
        meshes = []
        for face in result.multi_face_landmarks or ():
            points = face.landmark

            def px(i: int, points: Any = points) -> Point:
                return (points[i].x * width, points[i].y * height)

            def px3(i: int, points: Any = points) -> Point3:
                # The mesh's z is in the same normalised units as x.
                return (points[i].x * width, points[i].y * height, points[i].z * width)

            meshes.append(
                _Mesh(
                    nose=px(1),
                    right_eye=_mid(px(_RIGHT_EYE_CORNERS[0]), px(_RIGHT_EYE_CORNERS[1])),
                    left_eye=_mid(px(_LEFT_EYE_CORNERS[0]), px(_LEFT_EYE_CORNERS[1])),
                    pose=pose_from_mesh([px3(i) for i in MESH_POSE_INDICES]),
                )
            )
        return meshes

    def close(self) -> None:
        self._detector.close()
        for mesh in self._meshes.values():
            mesh.close()
        self._meshes.clear()


class _Mesh:
    __slots__ = ("left_eye", "nose", "pose", "right_eye")

    def __init__(
        self, nose: Point, right_eye: Point, left_eye: Point, pose: tuple[float, float] | None
    ) -> None:
        self.nose, self.right_eye, self.left_eye, self.pose = nose, right_eye, left_eye, pose


def _mid(a: Point, b: Point) -> Point:
    return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)


def _observation(detection: Any, meshes: list[_Mesh], width: int, height: int) -> FaceObservation | None:
    box = detection.location_data.relative_bounding_box
    x0, y0 = max(0.0, box.xmin * width), max(0.0, box.ymin * height)
    x1, y1 = (
        min(float(width), (box.xmin + box.width) * width),
        min(float(height), (box.ymin + box.height) * height),
    )
    if x1 - x0 < 2 or y1 - y0 < 2:  # a box almost entirely outside the frame
        return None
    keypoints = [(k.x * width, k.y * height) for k in detection.location_data.relative_keypoints]
    # The mesh face whose nose tip lies inside this box is the same face.
    mesh = next((m for m in meshes if x0 <= m.nose[0] <= x1 and y0 <= m.nose[1] <= y1), None)
    right_eye: Point | None
    left_eye: Point | None
    pose: tuple[float, float] | None
    if mesh is not None:
        right_eye, left_eye, pose = mesh.right_eye, mesh.left_eye, mesh.pose
    else:
        right_eye, left_eye = (keypoints[0], keypoints[1]) if len(keypoints) >= 2 else (None, None)
        pose = pose_from_keypoints(keypoints, (width, height)) if len(keypoints) == 6 else None
    return FaceObservation(
        x=x0,
        y=y0,
        width=x1 - x0,
        height=y1 - y0,
        score=float(detection.score[0]),
        right_eye=right_eye,
        left_eye=left_eye,
        yaw_deg=None if pose is None else pose[0],
        pitch_deg=None if pose is None else pose[1],
    )


class FakeFaceDetector:
    """Replays scripted observations, one tuple per ``detect`` call (then nothing), for tests."""

    def __init__(self, script: Sequence[Sequence[FaceObservation]], loop: bool = False) -> None:
        self._script = [tuple(frame) for frame in script]
        self._loop = loop
        self.calls = 0
        self.closed = False

    def detect(self, image: RGBImage) -> tuple[FaceObservation, ...]:
        check_image(image)
        index = self.calls
        self.calls += 1
        if self._loop and self._script:
            index %= len(self._script)
        return self._script[index] if index < len(self._script) else ()

    def close(self) -> None:
        self.closed = True
