"""The one face-crop function, used identically by training, evaluation and run time.

The model only ever sees faces cut by :func:`crop_face`, so a camera face at run time looks like the faces it
was trained on: eyes level, the same scale (from the eye distance) and the same margin. ``detect_and_crop`` is
the training/evaluation path for dataset images: it runs MediaPipe's short-range detector (dataset faces are
close-ups) to find the box and eyes, and falls back to the whole image (FER's 48x48 faces often defeat the
detector, and those images are already tight face crops).

Nothing here writes a crop anywhere; callers keep crops in memory only.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x, y, width, height in pixels
Point = tuple[float, float]  # x, y in pixels

CROP_SIZE = 96  # the attribute model's input: 96 px keeps inference under 5 ms per face on one core
# Geometry of the output, as fractions of its side. 3.1 eye distances across keeps the chin and some forehead
# (age cues) without much background; eyes at 37 % from the top.
SIDE_PER_EYE_DISTANCE = 3.1
EYE_ROW = 0.37
# Where the eyes sit inside a MediaPipe detection box (measured on grace_hopper and astronaut: eye distance
# 0.45-0.47 of the box width, eye centre at 0.48 of the width and 0.22-0.25 of the height). Used when the
# eyes are missing so that a box-only crop matches an eye-based one.
BOX_EYE_DISTANCE = 0.45
BOX_EYE_X = 0.5
BOX_EYE_Y = 0.24
# Dataset images smaller than this are upscaled before detection: the detector misses tiny faces.
MIN_DETECT_SIDE = 192


class CropError(ValueError):
    """The image or geometry handed to the crop is unusable."""


def _check_image(image_rgb: np.ndarray) -> None:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        shape = getattr(image_rgb, "shape", None)
        raise CropError(f"crop_face needs an H x W x 3 RGB image, got shape {shape}.")
    if image_rgb.shape[0] < 2 or image_rgb.shape[1] < 2:
        h, w = image_rgb.shape[:2]
        raise CropError(f"crop_face got an image too small to crop: {w}x{h}.")


def crop_face(
    image_rgb: np.ndarray,
    box: Box,
    right_eye: Point | None,
    left_eye: Point | None,
    size: int = CROP_SIZE,
) -> np.ndarray:
    """Cut an aligned ``size`` x ``size`` uint8 RGB face from ``image_rgb``.

    ``right_eye`` is the person's right eye (image left). With both eyes the crop is rotated so they are
    level and scaled from their distance; otherwise the box gives the scale and centre. Out-of-frame parts
    repeat the border pixels, so a face at the edge of the frame still gives a full crop.
    """
    _check_image(image_rgb)
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise CropError(f"crop_face got an empty or invalid box {box}.")
    angle = 0.0
    if right_eye is not None and left_eye is not None:
        dx = float(left_eye[0]) - float(right_eye[0])
        dy = float(left_eye[1]) - float(right_eye[1])
        eye_distance = math.hypot(dx, dy)
        # Eyes closer than a tenth of the box are a landmark failure (profile view): trust the box instead.
        if eye_distance >= 0.1 * max(w, h):
            angle = math.atan2(dy, dx)
            cx = (float(left_eye[0]) + float(right_eye[0])) / 2.0
            cy = (float(left_eye[1]) + float(right_eye[1])) / 2.0
        else:
            eye_distance = 0.0
    else:
        eye_distance = 0.0
    if eye_distance == 0.0:
        eye_distance = BOX_EYE_DISTANCE * w
        cx = x + BOX_EYE_X * w
        cy = y + BOX_EYE_Y * h
    scale = size / (SIDE_PER_EYE_DISTANCE * eye_distance)
    # Similarity transform: rotate by -angle about the eye centre, scale, then move the eye centre to its
    # place in the output.
    cos_a = math.cos(-angle) * scale
    sin_a = math.sin(-angle) * scale
    tx = size * 0.5 - (cos_a * cx - sin_a * cy)
    ty = size * EYE_ROW - (sin_a * cx + cos_a * cy)
    matrix = np.array([[cos_a, -sin_a, tx], [sin_a, cos_a, ty]], dtype=np.float64)
    crop = cv2.warpAffine(
        np.ascontiguousarray(image_rgb),
        matrix,
        (size, size),
        flags=cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.ascontiguousarray(crop, dtype=np.uint8)


def whole_image_crop(image_rgb: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The fallback for dataset images with no detected face: they are already face crops, so just resize."""
    _check_image(image_rgb)
    h, w = image_rgb.shape[:2]
    interpolation = cv2.INTER_AREA if min(h, w) > size else cv2.INTER_LINEAR
    resized = cv2.resize(image_rgb, (size, size), interpolation=interpolation)
    return np.ascontiguousarray(resized, dtype=np.uint8)


class FaceCropper:
    """Detect the most prominent face in an image and crop it with :func:`crop_face`.

    One MediaPipe detector is built lazily and reused (building one costs far more than running it). MediaPipe
    graphs are not re-entrant, so calls are serialised with a lock.
    """

    def __init__(self, size: int = CROP_SIZE, min_confidence: float = 0.5) -> None:
        self.size = size
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = threading.Lock()

    def _get_detector(self) -> Any:
        if self._detector is None:
            import mediapipe as mp  # imported here so that importing crop stays cheap

            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=self.min_confidence
            )
        return self._detector

    def detect(self, image_rgb: np.ndarray) -> tuple[np.ndarray, Box, Point, Point] | None:
        """Find the largest face; returns (image used, box, right eye, left eye) in that image's pixels."""
        found = self._largest(image_rgb)
        if found is None:
            return None
        image, best = found
        h, w = image.shape[:2]
        rb = best.location_data.relative_bounding_box
        kp = best.location_data.relative_keypoints
        box = (rb.xmin * w, rb.ymin * h, rb.width * w, rb.height * h)
        return image, box, (kp[0].x * w, kp[0].y * h), (kp[1].x * w, kp[1].y * h)

    def _largest(self, image_rgb: np.ndarray) -> tuple[np.ndarray, Any] | None:
        """(the image the detector saw, its largest detection), small images upscaled first."""
        _check_image(image_rgb)
        image: np.ndarray = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        h, w = image.shape[:2]
        if min(h, w) < MIN_DETECT_SIDE:
            factor = MIN_DETECT_SIDE / min(h, w)
            image = cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_CUBIC)
        with self._lock:
            result = self._get_detector().process(image)
        if not result.detections:
            return None

        def area(d: Any) -> float:
            rb = d.location_data.relative_bounding_box
            return float(rb.width * rb.height)

        return image, max(result.detections, key=area)

    def yaw(self, image_rgb: np.ndarray) -> float | None:
        """The largest face's yaw in degrees from the detector's six keypoints, as the product's
        attention estimate falls back to (None: no face, or no pose solution)."""
        from classifier.headpose import pose_from_keypoints

        found = self._largest(image_rgb)
        if found is None:
            return None
        image, best = found
        h, w = image.shape[:2]
        points = [(k.x * w, k.y * h) for k in best.location_data.relative_keypoints]
        pose = pose_from_keypoints(points, (w, h)) if len(points) == 6 else None
        return None if pose is None else float(pose[0])

    def __call__(self, image_rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        """Return (crop, whether a face was detected); without a detection the whole image is the face."""
        found = self.detect(image_rgb)
        if found is None:
            return whole_image_crop(image_rgb, self.size), False
        image, box, right_eye, left_eye = found
        return crop_face(image, box, right_eye, left_eye, self.size), True

    def close(self) -> None:
        with self._lock:
            if self._detector is not None:
                self._detector.close()
                self._detector = None


_default_cropper: FaceCropper | None = None


def detect_and_crop(image_rgb: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """Detect then crop, as training and evaluation do for every dataset image (one shared detector)."""
    global _default_cropper
    if _default_cropper is None or _default_cropper.size != size:
        _default_cropper = FaceCropper(size=size)
    crop, _found = _default_cropper(image_rgb)
    return crop
