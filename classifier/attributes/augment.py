"""Online augmentation and store-camera degradations of face-crop batches, in plain torch.

One definition serves training (random parameters per face, :func:`sample_camera` and :func:`augment_batch`)
and ``signage evaluate --degrade`` (one named condition for every face, see ``degrade.py``), so the model is
evaluated under exactly the conditions it trained on. Batches are float ``N x 3 x H x W`` tensors holding RGB
values in 0..255; every random draw comes from a ``torch.Generator`` the caller seeds.

A store camera sees a face through :func:`render_camera`, in this order: colour or grey, dim light (gain),
motion blur (at crop resolution), the face's real size in the frame (downscale), sensor noise and JPEG at that
size, then ``crop_face``'s upscale back to the crop size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from classifier.crop import BOX_EYE_DISTANCE, SIDE_PER_EYE_DISTANCE

# A detection box (the "face width" a store camera reports) spans this share of the crop's side.
FACE_WIDTH_PER_CROP = 1.0 / (BOX_EYE_DISTANCE * SIDE_PER_EYE_DISTANCE)
_LUMA = (0.299, 0.587, 0.114)
_MAX_BLUR_KERNEL = 15


@dataclass(frozen=True)
class CameraParams:
    """Per-face degradation parameters (tensors of length N); the neutral value of each leaves a face as is."""

    grey: torch.Tensor  # bool: replace colour by luminance
    gain: torch.Tensor  # light level, 1.0 = as captured
    blur_px: torch.Tensor  # motion-blur streak length in crop pixels, 0 = none
    blur_angle: torch.Tensor  # radians
    face_px: torch.Tensor  # face width in the camera frame, px; 0 = full crop resolution
    noise_std: torch.Tensor  # sensor noise (0..255 scale) added at the face's real size
    jpeg_quality: torch.Tensor  # int 1..100; 0 = not compressed

    @classmethod
    def neutral(cls, n: int) -> CameraParams:
        zeros = torch.zeros(n)
        return cls(
            torch.zeros(n, dtype=torch.bool),
            torch.ones(n),
            zeros,
            zeros,
            zeros,
            zeros,
            torch.zeros(n, dtype=torch.int64),
        )


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the training augmentation; ``strength`` scales every degradation's p."""

    max_rotate_deg: float = 12.0
    scale: tuple[float, float] = (0.88, 1.12)  # zoom of the random resized crop (> 1 zooms in)
    max_shift: float = 0.06  # of the side
    flip_p: float = 0.5
    brightness: float = 25.0  # +/- added, 0..255 scale
    contrast: tuple[float, float] = (0.7, 1.3)
    erase_p: float = 0.25
    erase_area: tuple[float, float] = (0.02, 0.15)
    grey_p: float = 0.25
    dim_p: float = 0.15
    dim_gain: tuple[float, float] = (0.3, 0.7)
    blur_p: float = 0.15
    blur_px: tuple[float, float] = (3.0, 9.0)
    downscale_p: float = 0.3
    face_px: tuple[float, float] = (20.0, 56.0)
    noise_p: float = 0.2
    noise_std: tuple[float, float] = (2.0, 8.0)
    jpeg_p: float = 0.25
    jpeg_quality: tuple[int, int] = (25, 70)
    strength: float = 1.0


# ---- conversions --------------------------------------------------------------------------------------


def to_batch(crops: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 ``N x H x W x 3`` (numpy or torch) -> float ``N x 3 x H x W`` in 0..255."""
    t = torch.as_tensor(crops)
    return t.permute(0, 3, 1, 2).float()


def to_crops(batch: torch.Tensor) -> np.ndarray:
    """float ``N x 3 x H x W`` -> uint8 ``N x H x W x 3`` (rounded, clipped)."""
    return batch.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


# ---- degradations (deterministic given their parameters) ----------------------------------------------


def to_grey(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Luminance in all three channels where ``mask`` is set."""
    luma = (x * torch.tensor(_LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True).expand_as(x)
    return torch.where(mask.view(-1, 1, 1, 1), luma, x)


def motion_blur(x: torch.Tensor, length_px: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """A straight streak of ``length_px`` pixels at ``angle`` per face (length 0 leaves it unchanged)."""
    if not bool((length_px > 0).any()):
        return x
    n, c, h, w = x.shape
    length = length_px.clamp(0, _MAX_BLUR_KERNEL - 1)
    k = min(_MAX_BLUR_KERNEL, 2 * math.ceil(float(length.max()) / 2) + 1)
    r = torch.arange(k, dtype=torch.float32) - k // 2
    v, u = torch.meshgrid(r, r, indexing="ij")  # rows, columns
    dx, dy = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    along = (u * dx + v * dy).clamp(-length.view(n, 1, 1) / 2, length.view(n, 1, 1) / 2)
    dist = torch.hypot(u - along * dx, v - along * dy)
    kernel = (1.0 - dist).clamp(min=0)
    kernel = kernel / kernel.sum(dim=(1, 2), keepdim=True)
    weight = kernel.repeat_interleave(c, dim=0).unsqueeze(1)  # (N*C) x 1 x k x k
    padded = F.pad(x.reshape(1, n * c, h, w), (k // 2,) * 4, mode="replicate")
    return F.conv2d(padded, weight, groups=n * c).reshape(n, c, h, w)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Encode and decode each face with OpenCV's JPEG at its quality (0: left as is)."""
    if not bool((quality > 0).any()):
        return x
    out = x.clone()
    crops = to_crops(x)
    for i in torch.nonzero(quality > 0).flatten().tolist():
        bgr = np.ascontiguousarray(crops[i][:, :, ::-1])
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality[i])])
        if ok:
            decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1]
            out[i] = torch.from_numpy(np.ascontiguousarray(decoded)).permute(2, 0, 1).float()
    return out


def crop_side_for_face(face_px: float) -> int:
    """The crop side (px) at which the face in a crop is ``face_px`` wide."""
    return max(4, round(face_px / FACE_WIDTH_PER_CROP))


def render_camera(x: torch.Tensor, p: CameraParams, generator: torch.Generator | None = None) -> torch.Tensor:
    """Re-render each face as a store camera would see it (see the module docstring for the order)."""
    n, _, h, w = x.shape
    out = to_grey(x, p.grey)
    out = out * p.gain.view(n, 1, 1, 1)
    out = motion_blur(out, p.blur_px, p.blur_angle)
    sides = [crop_side_for_face(float(f)) if f > 0 else h for f in p.face_px]
    noise = p.noise_std > 0
    result = out.clone()
    for side in sorted(set(sides)):
        idx = torch.tensor([i for i, s in enumerate(sides) if s == side])
        small = F.adaptive_avg_pool2d(out[idx], (side, side)) if side < h else out[idx]
        if bool(noise[idx].any()):
            grain = torch.randn(small.shape, generator=generator) * p.noise_std[idx].view(-1, 1, 1, 1)
            small = small + torch.where(p.grey[idx].view(-1, 1, 1, 1), grain[:, :1].expand_as(grain), grain)
        small = small.clamp(0, 255)
        if bool((p.jpeg_quality[idx] > 0).any()) or bool(noise[idx].any()) or side < h:
            small = to_batch(to_crops(small))  # a camera frame holds whole 8-bit values
        small = jpeg(small, p.jpeg_quality[idx])
        if side < h:
            small = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
        result[idx] = small
    return result.clamp(0, 255)


# ---- training-time randomness -------------------------------------------------------------------------


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g)


def _chance(n: int, p: float, g: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=g) < p


def sample_camera(n: int, cfg: AugmentConfig, g: torch.Generator) -> CameraParams:
    """Random degradations: each applies to a face independently with its probability (times strength)."""
    s = cfg.strength
    dim = _chance(n, cfg.dim_p * s, g)
    blur = _chance(n, cfg.blur_p * s, g)
    small = _chance(n, cfg.downscale_p * s, g)
    noisy = _chance(n, cfg.noise_p * s, g)
    jpg = _chance(n, cfg.jpeg_p * s, g)
    quality = torch.randint(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1, (n,), generator=g)
    return CameraParams(
        grey=_chance(n, cfg.grey_p * s, g),
        gain=torch.where(dim, _uniform(n, *cfg.dim_gain, g), torch.ones(n)),
        blur_px=torch.where(blur, _uniform(n, *cfg.blur_px, g), torch.zeros(n)),
        blur_angle=_uniform(n, 0.0, math.pi, g),
        face_px=torch.where(small, _uniform(n, *cfg.face_px, g), torch.zeros(n)),
        noise_std=torch.where(noisy, _uniform(n, *cfg.noise_std, g), torch.zeros(n)),
        jpeg_quality=torch.where(jpg, quality, torch.zeros(n, dtype=torch.int64)),
    )


def random_affine(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """Flip, rotation, zoom and shift in one ``grid_sample`` (the border repeats, as in ``crop_face``)."""
    n = x.shape[0]
    angle = _uniform(n, -cfg.max_rotate_deg, cfg.max_rotate_deg, g) * (math.pi / 180.0)
    zoom = _uniform(n, *cfg.scale, g)
    flip = torch.where(_chance(n, cfg.flip_p, g), -1.0, 1.0)
    shift = _uniform(2 * n, -2 * cfg.max_shift, 2 * cfg.max_shift, g).view(n, 2)  # normalised [-1, 1] units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    gain = _uniform(n, *cfg.contrast, g).view(n, 1, 1, 1)
    bias = _uniform(n, -cfg.brightness, cfg.brightness, g).view(n, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * gain + mean + bias).clamp(0, 255)


def random_erase(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """One rectangle of noise per chosen face (area and aspect ratio random), as in random erasing."""
    n, _, h, w = x.shape
    chosen = _chance(n, cfg.erase_p, g)
    area = _uniform(n, *cfg.erase_area, g) * h * w
    aspect = torch.exp(_uniform(n, math.log(0.3), math.log(3.3), g))
    eh = torch.sqrt(area * aspect).clamp(1, h)
    ew = torch.sqrt(area / aspect).clamp(1, w)
    y0 = torch.rand(n, generator=g) * (h - eh)
    x0 = torch.rand(n, generator=g) * (w - ew)
    rows = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    cols = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    inside = (
        (rows >= y0.view(n, 1, 1))
        & (rows < (y0 + eh).view(n, 1, 1))
        & (cols >= x0.view(n, 1, 1))
        & (cols < (x0 + ew).view(n, 1, 1))
        & chosen.view(n, 1, 1)
    )
    noise = torch.rand(x.shape, generator=g) * 255.0
    return torch.where(inside.unsqueeze(1), noise, x)


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator) -> torch.Tensor:
    """The whole training augmentation: geometry, colour, a store camera, then random erasing."""
    out = random_affine(x, cfg, g)
    out = colour_jitter(out, cfg, g)
    out = render_camera(out, sample_camera(len(out), cfg, g), g)
    return random_erase(out, cfg, g)
