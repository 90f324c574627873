"""Head pose (yaw, pitch): from the face mesh's 3-D landmarks, or from the detector's keypoints.

The keypoint fallback fits a generic 3-D head with ``cv2.solvePnP``. Its model is in camera-like
axes (x to the image right, y down, z away from the camera, origin at the nose tip, millimetres),
so a face looking straight at the camera solves to the identity rotation and yaw/pitch read
directly off the rotated facing direction.
Only ratios matter, so a generic adult head is accurate enough for a ±30° attention cone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from classifier.types import Point

Point3 = tuple[float, float, float]

# MediaPipe face-mesh indices used for pose: outer eye corners (image left, image right), forehead, chin.
MESH_POSE_INDICES: tuple[int, ...] = (33, 263, 10, 152)

# MediaPipe face-detection keypoints, in the order the detector returns them. The depths are a
# generic head's scaled by 1.25, fitted against the mesh's pose on the Hamilton clip (102 faces):
# median yaw error 6.4° -> 5.0°, agreement on "inside the ±30° cone" 79 % -> 85 %.
_KEYPOINT_MODEL = np.array(
    [
        (-32.0, -35.0, 40.0),  # right eye (image left)
        (32.0, -35.0, 40.0),  # left eye
        (0.0, 0.0, 0.0),  # nose tip
        (0.0, 30.0, 22.5),  # mouth centre
        (-72.0, -10.0, 119.0),  # right ear tragion
        (72.0, -10.0, 119.0),  # left ear tragion
    ],
    dtype=np.float64,
)


def pose_from_mesh(points: Sequence[Point3]) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees from the mesh's own 3-D points listed in ``MESH_POSE_INDICES``.

    The mesh predicts depth, so the face's normal is the cross product of its vertical
    (forehead to chin) and horizontal (eye to eye) axes; no 3-D model or PnP fit is needed,
    which keeps a microphone over the mouth from skewing the pose.
    """
    if len(points) != len(MESH_POSE_INDICES):
        raise ValueError(f"mesh pose needs {len(MESH_POSE_INDICES)} points, got {len(points)}")
    eye_r, eye_l, forehead, chin = (np.asarray(p, dtype=np.float64) for p in points)
    normal = np.cross(chin - forehead, eye_l - eye_r)  # x right, y down: points toward the camera
    length = float(np.linalg.norm(normal))
    if length == 0.0 or normal[2] >= 0:
        return None
    return _angles(normal / length)


def pose_from_keypoints(points: Sequence[Point], image_size: tuple[int, int]) -> tuple[float, float] | None:
    """(yaw, pitch) in degrees from the detector's six keypoints (coarser than the mesh)."""
    return _solve(points, _KEYPOINT_MODEL, image_size)


def _solve(
    points: Sequence[Point], model: np.ndarray, image_size: tuple[int, int]
) -> tuple[float, float] | None:
    if len(points) != len(model):
        raise ValueError(f"head pose needs {len(model)} points, got {len(points)}")
    width, height = image_size
    focal = float(max(width, height))  # a typical webcam's field of view (~60°)
    camera = np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])
    image_points = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
    # Start from "facing the camera at arm's length" so the iterative solver cannot flip behind the camera.
    rvec = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [600.0]])
    ok, rotation_vec, translation = cv2.solvePnP(
        model,
        image_points,
        camera,
        np.zeros(4),
        rvec,
        tvec,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rotation_vec)
    facing = rotation @ np.array([0.0, 0.0, -1.0])  # where the face points, in camera axes
    if facing[2] >= 0:  # pointing away from the camera: a degenerate fit
        return None
    # Relative to the line of sight: a face at the frame's edge that looks into the lens (at the
    # screen the camera sits on) is attending, though it is turned in camera axes.
    tx, ty, tz = (float(v) for v in np.asarray(translation).ravel())
    yaw, pitch = _angles(facing)
    return yaw + math.degrees(math.atan2(tx, tz)), pitch - math.degrees(math.atan2(ty, tz))


def _angles(facing: np.ndarray) -> tuple[float, float]:
    """Yaw (positive: turned to the image right) and pitch (positive: up) of a facing direction."""
    yaw = math.degrees(math.atan2(facing[0], -facing[2]))
    pitch = math.degrees(math.atan2(-facing[1], -facing[2]))
    return yaw, pitch
