"""The simulated scene's cast: real face photos that ship inside installed packages.

Grace Hopper (matplotlib's sample data), the astronaut Eileen Collins and faces from the LFW
subset (both scikit-image) become head-and-shoulders "busts" on a common layout, so the renderer
can scale, turn and place any of them the same way. Nothing here is downloaded or written.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from signage.camera.base import RGBImage, as_u8

FACE_REF_PX = 100  # face width in a bust at reference scale
BUST_W, BUST_H = 3 * FACE_REF_PX, 4 * FACE_REF_PX
FACE_CENTER = (1.5 * FACE_REF_PX, 1.2 * FACE_REF_PX)  # where the face centre sits in a bust
HEAD_CENTER = (1.5 * FACE_REF_PX, 1.05 * FACE_REF_PX)
HEAD_AXES = (0.64 * FACE_REF_PX, 0.86 * FACE_REF_PX)

AlphaImage = npt.NDArray[np.uint8]  # H x W, 0 (transparent) to 255


@dataclass(frozen=True, eq=False)
class Bust:
    name: str
    rgb: RGBImage  # BUST_H x BUST_W
    alpha: AlphaImage
    hair_rgb: tuple[int, int, int]
    clothes_rgb: tuple[int, int, int]


# Face boxes (x, y, side) in the original photos, measured once with MediaPipe full-range detection.
_PHOTO_FACES = {"grace_hopper": (171, 146, 194), "astronaut": (177, 82, 95)}
# Seen from behind: Grace Hopper's navy cap, Eileen Collins' fair hair.
_PHOTO_HAIR = {"grace_hopper": (28, 30, 48), "astronaut": (150, 112, 62)}


def _bust_mask() -> AlphaImage:
    f = FACE_REF_PX
    mask = np.zeros((BUST_H, BUST_W), np.uint8)
    center = (int(HEAD_CENTER[0]), int(HEAD_CENTER[1]))
    cv2.ellipse(mask, center, (int(HEAD_AXES[0]), int(HEAD_AXES[1])), 0, 0, 360, (255,), -1)
    cv2.rectangle(mask, (int(1.2 * f), int(1.6 * f)), (int(1.8 * f), int(2.1 * f)), (255,), -1)
    torso = np.array(
        [(0.15, 4.0), (0.25, 2.45), (0.7, 2.0), (2.3, 2.0), (2.75, 2.45), (2.85, 4.0)], np.float32
    )
    cv2.fillPoly(mask, [np.round(torso * f).astype(np.int32)], (255,))
    return as_u8(cv2.GaussianBlur(mask, (0, 0), 2.5))


def _align(photo: RGBImage, face: tuple[int, int, int]) -> RGBImage:
    """The photo scaled and shifted so its face lands on the bust layout."""
    x, y, side = face
    scale = FACE_REF_PX / side
    cx, cy = x + side / 2, y + side / 2
    matrix = np.array(
        [[scale, 0, FACE_CENTER[0] - cx * scale], [0, scale, FACE_CENTER[1] - cy * scale]], np.float32
    )
    return as_u8(
        cv2.warpAffine(photo, matrix, (BUST_W, BUST_H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    )


def _mean_rgb(image: RGBImage, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int]:
    patch = image[int(y0) : int(y1), int(x0) : int(x1)].reshape(-1, 3)
    r, g, b = (int(v) for v in patch.mean(axis=0))
    return (r, g, b)


def _from_photo(name: str, photo: RGBImage, face: tuple[int, int, int]) -> Bust:
    rgb = _align(photo, face)
    f = FACE_REF_PX
    hair = _PHOTO_HAIR[name]
    clothes = _mean_rgb(rgb, 0.6 * f, 3.0 * f, 1.0 * f, 3.6 * f)
    return Bust(name, rgb, _bust_mask(), hair, clothes)


def _from_lfw(index: int, gray: npt.NDArray[np.float64], rng: np.random.Generator) -> Bust:
    """An LFW face (25x25 grey, tightly cropped) tinted and given hair, neck and clothes."""
    f = FACE_REF_PX
    skin = np.array(rng.choice([(1.05, 0.86, 0.72), (0.95, 0.78, 0.62), (0.8, 0.62, 0.48), (1.0, 0.9, 0.8)]))
    hair = tuple(int(v) for v in rng.choice([(40, 30, 25), (90, 60, 35), (20, 20, 22), (150, 120, 80)]))
    clothes = tuple(int(v) for v in rng.integers(30, 200, size=3))
    canvas = np.zeros((BUST_H, BUST_W, 3), np.uint8)
    canvas[:] = clothes
    hx, hy = int(HEAD_CENTER[0]), int(HEAD_CENTER[1])
    cv2.ellipse(canvas, (hx, hy - int(0.05 * f)), (int(HEAD_AXES[0]), int(HEAD_AXES[1])), 0, 0, 360, hair, -1)
    neck = tuple(int(v) for v in np.clip(np.array([150, 150, 150]) * skin, 0, 255))
    cv2.rectangle(canvas, (int(1.2 * f), int(1.5 * f)), (int(1.8 * f), int(2.1 * f)), neck, -1)
    side = int(1.2 * f)  # the LFW crop spans brow to chin, a little more than the face width
    face = cv2.resize((gray * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
    tinted = np.clip(face[..., None].astype(np.float32) * skin[None, None, :], 0, 255).astype(np.uint8)
    x0, y0 = int(FACE_CENTER[0] - side / 2), int(FACE_CENTER[1] - side / 2)
    canvas[y0 : y0 + side, x0 : x0 + side] = tinted
    r, g, b = hair
    cr, cg, cb = clothes
    return Bust(f"lfw-{index}", canvas, _bust_mask(), (r, g, b), (cr, cg, cb))


def load_cast(size: int = 12, seed: int = 0) -> tuple[Bust, ...]:
    """``size`` busts: Grace Hopper, the astronaut, then LFW faces (at most 100 of those ship)."""
    from matplotlib import cbook
    from skimage import data

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    encoded = np.fromfile(str(path), np.uint8)
    hopper = as_u8(cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    cast = [
        _from_photo("grace_hopper", hopper, _PHOTO_FACES["grace_hopper"]),
        _from_photo("astronaut", as_u8(np.ascontiguousarray(data.astronaut())), _PHOTO_FACES["astronaut"]),
    ]
    faces = data.lfw_subset()[:100]  # the first 100 are faces, the rest are not
    rng = np.random.default_rng(seed)
    for index in range(max(0, min(size, 102) - 2)):
        cast.append(_from_lfw(index, faces[index], rng))
    return tuple(cast[:size])
