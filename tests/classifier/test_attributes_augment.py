"""Online augmentation and store-camera degradations (classifier.attributes.augment)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from classifier.attributes.augment import (
    FACE_WIDTH_PER_CROP,
    AugmentConfig,
    CameraParams,
    augment_batch,
    crop_side_for_face,
    jpeg,
    motion_blur,
    random_affine,
    random_erase,
    render_camera,
    sample_camera,
    to_batch,
    to_crops,
    to_grey,
)


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    from matplotlib import cbook

    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    face = cv2.resize(image[40:440, 60:460, ::-1], (96, 96), interpolation=cv2.INTER_AREA)
    return to_batch(np.stack([face, face[:, ::-1], np.roll(face, 7, axis=0), face // 2 + 60]))


def _with(p: CameraParams, **values: float | bool | int) -> CameraParams:
    n = len(p.gain)
    fields = {}
    for name, value in values.items():
        dtype = (
            torch.bool
            if isinstance(value, bool)
            else torch.int64
            if name == "jpeg_quality"
            else torch.float32
        )
        fields[name] = torch.full((n,), value, dtype=dtype)
    return replace(p, **fields)


def _sharpness(x: torch.Tensor) -> float:
    """Mean absolute difference between neighbouring pixels: high-frequency detail."""
    return float(
        (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    )


def test_conversions_round_trip(faces: torch.Tensor) -> None:
    crops = to_crops(faces)
    assert crops.shape == (4, 96, 96, 3) and crops.dtype == np.uint8
    assert torch.equal(to_batch(crops), faces)


def test_augment_keeps_shape_and_range_and_is_seeded(faces: torch.Tensor) -> None:
    cfg = AugmentConfig(strength=2.0)
    a = augment_batch(faces, cfg, torch.Generator().manual_seed(5))
    b = augment_batch(faces, cfg, torch.Generator().manual_seed(5))
    c = augment_batch(faces, cfg, torch.Generator().manual_seed(6))
    assert a.shape == faces.shape and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 255.0
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, faces)


def test_neutral_camera_and_zero_strength_leave_faces_alone(faces: torch.Tensor) -> None:
    assert torch.equal(render_camera(faces, CameraParams.neutral(4)), faces)
    g = torch.Generator().manual_seed(0)
    params = sample_camera(64, AugmentConfig(strength=0.0), g)
    assert not params.grey.any() and torch.all(params.gain == 1) and torch.all(params.face_px == 0)
    assert torch.all(params.jpeg_quality == 0) and torch.all(params.blur_px == 0)


def test_sampled_degradations_follow_their_probabilities() -> None:
    params = sample_camera(20000, AugmentConfig(), torch.Generator().manual_seed(1))
    cfg = AugmentConfig()
    assert abs(float((params.face_px > 0).float().mean()) - cfg.downscale_p) < 0.02
    assert abs(float((params.jpeg_quality > 0).float().mean()) - cfg.jpeg_p) < 0.02
    small = params.face_px[params.face_px > 0]
    assert float(small.min()) >= cfg.face_px[0] and float(small.max()) <= cfg.face_px[1]
    q = params.jpeg_quality[params.jpeg_quality > 0]
    assert int(q.min()) >= cfg.jpeg_quality[0] and int(q.max()) <= cfg.jpeg_quality[1]


def test_flip_only_affine_mirrors_exactly(faces: torch.Tensor) -> None:
    cfg = AugmentConfig(max_rotate_deg=0.0, scale=(1.0, 1.0), max_shift=0.0, flip_p=1.0)
    out = random_affine(faces, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(out, faces.flip(-1), atol=1e-3)
    keep = random_affine(faces, replace(cfg, flip_p=0.0), torch.Generator().manual_seed(0))
    assert torch.allclose(keep, faces, atol=1e-3)


def test_face_width_maps_to_a_smaller_crop_side() -> None:
    assert 0.6 < FACE_WIDTH_PER_CROP < 0.8  # the detection box is most of the crop, margin around it
    assert crop_side_for_face(32) == round(32 / FACE_WIDTH_PER_CROP)
    assert crop_side_for_face(24) < crop_side_for_face(32) < crop_side_for_face(48) < 96


def test_smaller_faces_lose_more_detail(faces: torch.Tensor) -> None:
    neutral = CameraParams.neutral(4)
    sharp = [_sharpness(render_camera(faces, _with(neutral, face_px=float(px)))) for px in (24, 32, 48)]
    assert sharp[0] < sharp[1] < sharp[2] < _sharpness(faces)
    # The low frequencies survive: the face is still the face, only blurrier.
    small = render_camera(faces, _with(neutral, face_px=24.0))
    assert abs(float(small.mean()) - float(faces.mean())) < 2.0


def test_motion_blur_smears_along_its_direction_only() -> None:
    columns = torch.zeros(1, 3, 32, 32)
    columns[..., ::4] = 255.0  # vertical stripes: change along x
    rows = columns.transpose(2, 3).contiguous()  # horizontal stripes: change along y
    length, horizontal = torch.tensor([7.0]), torch.tensor([0.0])
    assert _sharpness(motion_blur(columns, length, horizontal)) < 0.5 * _sharpness(columns)
    assert torch.allclose(motion_blur(rows, length, horizontal), rows, atol=1e-3)
    assert torch.allclose(motion_blur(columns, torch.tensor([0.0]), horizontal), columns, atol=1e-4)


def test_jpeg_error_grows_as_quality_falls(faces: torch.Tensor) -> None:
    errors = [float((jpeg(faces, torch.full((4,), q)) - faces).abs().mean()) for q in (90, 30, 10)]
    assert 0.0 < errors[0] < errors[1] < errors[2]
    assert torch.equal(jpeg(faces, torch.zeros(4, dtype=torch.int64)), faces)


def test_dim_light_and_grey(faces: torch.Tensor) -> None:
    neutral = CameraParams.neutral(4)
    dim = render_camera(faces, _with(neutral, gain=0.4))
    assert float(dim.mean()) == pytest.approx(0.4 * float(faces.mean()), rel=0.01)
    grey = to_grey(faces, torch.tensor([True, False, True, False]))
    assert torch.equal(grey[0, 0], grey[0, 1]) and torch.equal(grey[0, 1], grey[0, 2])
    assert torch.equal(grey[1], faces[1])
    assert float(grey[0].mean()) == pytest.approx(float(faces[0].mean()), rel=0.1)
    noisy = render_camera(faces, _with(neutral, noise_std=6.0), torch.Generator().manual_seed(0))
    assert 3.0 < float((noisy - faces).abs().mean()) < 7.0
    assert torch.equal(noisy, noisy.round())  # a camera frame holds whole 8-bit values


def test_random_erase_covers_a_bounded_rectangle(faces: torch.Tensor) -> None:
    cfg = AugmentConfig(erase_p=1.0, erase_area=(0.05, 0.1))
    out = random_erase(faces, cfg, torch.Generator().manual_seed(3))
    changed = (out != faces).any(dim=1).float().mean(dim=(1, 2))
    assert torch.all(changed > 0.03) and torch.all(changed <= 0.11)
    assert torch.equal(random_erase(faces, replace(cfg, erase_p=0.0), torch.Generator()), faces)
