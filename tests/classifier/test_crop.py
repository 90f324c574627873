"""The shared face crop: deterministic, eye-aligned, scaled from the eyes, with clear errors."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from matplotlib import cbook

from classifier.crop import (
    CROP_SIZE,
    EYE_ROW,
    SIDE_PER_EYE_DISTANCE,
    CropError,
    FaceCropper,
    crop_face,
    whole_image_crop,
)


def _grace_hopper() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def _eyes_image(
    angle_deg: float,
    distance: float = 60.0,
    center: tuple[float, float] = (200.0, 180.0),
) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """A white canvas with two black dots as eyes, the pair rotated by ``angle_deg``."""
    image = np.full((400, 420, 3), 255, np.uint8)
    a = math.radians(angle_deg)
    dx, dy = math.cos(a) * distance / 2, math.sin(a) * distance / 2
    right = (center[0] - dx, center[1] - dy)
    left = (center[0] + dx, center[1] + dy)
    for x, y in (right, left):
        cv2.circle(image, (round(x), round(y)), 6, (0, 0, 0), -1, lineType=cv2.LINE_AA)
    return image, right, left


def _dark_blobs(crop: np.ndarray) -> list[tuple[float, float]]:
    grey = crop.mean(axis=2)
    n, _labels, stats, centroids = cv2.connectedComponentsWithStats((grey < 100).astype(np.uint8))
    blobs = [tuple(centroids[i]) for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 3]
    return sorted(blobs)  # left to right


@pytest.mark.parametrize("angle", [-35.0, -10.0, 0.0, 20.0, 40.0])
def test_eyes_come_out_level_at_the_fixed_place(angle: float) -> None:
    image, right, left = _eyes_image(angle)
    crop = crop_face(image, (150, 130, 100, 120), right, left)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
    assert crop.dtype == np.uint8
    blobs = _dark_blobs(crop)
    assert len(blobs) == 2
    (x1, y1), (x2, y2) = blobs
    assert abs(y1 - y2) < 1.0  # level
    assert abs((y1 + y2) / 2 - EYE_ROW * CROP_SIZE) < 1.0
    assert abs((x1 + x2) / 2 - CROP_SIZE / 2) < 1.0
    # Scale comes from the eye distance: the eyes are always the same distance apart in the crop.
    assert abs((x2 - x1) - CROP_SIZE / SIDE_PER_EYE_DISTANCE) < 1.5


def test_crop_is_deterministic_and_independent_of_input_scale() -> None:
    image, right, left = _eyes_image(15.0)
    a = crop_face(image, (150, 130, 100, 120), right, left)
    b = crop_face(image.copy(), (150, 130, 100, 120), right, left)
    assert np.array_equal(a, b)
    big = cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    c = crop_face(big, (300, 260, 200, 240), (right[0] * 2, right[1] * 2), (left[0] * 2, left[1] * 2))
    assert np.abs(a.astype(int) - c.astype(int)).mean() < 6.0


def test_without_eyes_the_box_gives_centre_and_scale() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    image[100:200, 100:200] = 255  # the "face" box
    crop = crop_face(image, (100, 100, 100, 100), None, None, size=64)
    bright = np.argwhere(crop.mean(axis=2) > 128)
    # The box centre lands near the crop centre (eyes sit above the box centre), horizontally centred.
    assert abs(bright[:, 1].mean() - 31.5) < 2.0
    width = bright[:, 1].max() - bright[:, 1].min() + 1
    expected = 64 / (SIDE_PER_EYE_DISTANCE * 0.45)
    assert abs(width - expected) <= 2


def test_faces_at_the_frame_edge_still_give_a_full_crop() -> None:
    image, right, left = _eyes_image(0.0, center=(20.0, 15.0))
    crop = crop_face(image, (0, 0, 60, 60), right, left)
    assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)


@pytest.mark.parametrize(
    ("image", "box", "match"),
    [
        (np.zeros((10, 10), np.uint8), (0, 0, 5, 5), "H x W x 3"),
        (np.zeros((10, 10, 3), np.uint8), (0, 0, 0, 5), "empty or invalid box"),
        (np.zeros((10, 10, 3), np.uint8), (0, 0, float("nan"), 5), "empty or invalid box"),
    ],
)
def test_bad_input_raises_one_clear_sentence(image: np.ndarray, box: tuple[float, ...], match: str) -> None:
    with pytest.raises(CropError, match=match):
        crop_face(image, box, None, None)  # type: ignore[arg-type]


def test_detect_and_crop_finds_grace_hopper_and_falls_back_on_a_blank_image() -> None:
    cropper = FaceCropper()
    try:
        crop, found = cropper(_grace_hopper())
        assert found
        assert crop.shape == (CROP_SIZE, CROP_SIZE, 3)
        # The face fills the crop: skin tones dominate the centre, not the blue background.
        centre = crop[30:70, 30:66].reshape(-1, 3).mean(axis=0)
        assert centre[0] > centre[2]
        blank = np.full((48, 48, 3), 90, np.uint8)
        crop2, found2 = cropper(blank)
        assert not found2
        assert np.array_equal(crop2, whole_image_crop(blank))
        again, _ = cropper(_grace_hopper())
        assert np.array_equal(crop, again)
    finally:
        cropper.close()
