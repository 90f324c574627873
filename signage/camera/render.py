"""Draw the simulated scene: a store background, then each shopper's bust, far to near.

A camera at eye level on the screen: every head sits near the horizon and only its size says
how far away it is (pinhole model with a 60 degree horizontal field of view and 16 cm faces,
the same assumptions the perception settings use to turn face width into distance).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import cv2
import numpy as np
import numpy.typing as npt

from signage.camera.base import RGBImage, as_u8
from signage.camera.cast import (
    BUST_H,
    BUST_W,
    FACE_CENTER,
    FACE_REF_PX,
    HEAD_AXES,
    HEAD_CENTER,
    AlphaImage,
    Bust,
)
from signage.camera.scene import PersonView, Pose

HFOV_DEG = 60.0
FACE_WIDTH_M = 0.16
EYE_HEIGHT_M = 1.55  # eyes above the floor; places the feet
HORIZON = 0.42  # eye level as a fraction of the frame height
_Sprite = tuple[RGBImage, AlphaImage]


def face_px(width: int, distance_m: float) -> float:
    focal = (width / 2) / math.tan(math.radians(HFOV_DEG / 2))
    return focal * FACE_WIDTH_M / distance_m


def store_background(width: int, height: int) -> RGBImage:
    """Back wall with stocked shelves, a tiled floor and a ceiling light; fixed, not random per run."""
    rng = np.random.default_rng(1234)
    image = np.zeros((height, width, 3), np.uint8)
    floor_y = int(0.66 * height)
    wall = np.linspace(225, 190, floor_y)[:, None, None] * np.array([1.0, 0.97, 0.9])[None, None, :]
    image[:floor_y] = wall.astype(np.uint8)
    image[floor_y:] = (150, 148, 142)
    for i in range(-12, 13):  # floor tile joints converging on the vanishing point
        x_far = width / 2 + i * width * 0.06
        x_near = width / 2 + i * width * 0.25
        cv2.line(image, (int(x_far), floor_y), (int(x_near), height), (128, 126, 120), 1)
    for k in range(1, 6):
        y = floor_y + int((height - floor_y) * (k / 6) ** 1.6)
        cv2.line(image, (0, y), (width, y), (128, 126, 120), 1)
    cv2.rectangle(image, (0, 0), (width, int(0.04 * height)), (245, 245, 240), -1)
    unit_w = width / 3.2
    for unit in range(3):
        x0 = int(0.1 * unit_w + unit * unit_w * 1.05)
        x1 = int(x0 + unit_w * 0.95)
        top, bottom = int(0.12 * height), floor_y
        cv2.rectangle(image, (x0, top), (x1, bottom), (95, 80, 70), -1)
        rows = 4
        for row in range(rows):
            y1 = top + int((bottom - top) * (row + 1) / rows) - 4
            y0 = top + int((bottom - top) * row / rows) + 6
            x = x0 + 4
            while x < x1 - 10:
                w = int(rng.integers(10, 26))
                h = int((y1 - y0) * rng.uniform(0.55, 0.95))
                color = tuple(int(c) for c in rng.integers(40, 240, size=3))
                cv2.rectangle(image, (x, y1 - h), (min(x + w, x1 - 4), y1), color, -1)
                x += w + 2
            cv2.rectangle(image, (x0, y1), (x1, y1 + 4), (200, 200, 205), -1)
    return image


def _turn(rgb: RGBImage, alpha: AlphaImage, bust: Bust, left: bool) -> _Sprite:
    """A rough three-quarter view: squeeze the bust in perspective, hair over the near cheek."""
    w, h = BUST_W, BUST_H
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    near, far = 0.9 * w, 0.25 * w
    if left:  # face towards image left: the right side is nearer the camera
        corners = [(far, 0.07 * h), (near, 0), (near, h), (far, 0.93 * h)]
    else:
        corners = [(w - near, 0), (w - far, 0.07 * h), (w - far, 0.93 * h), (w - near, h)]
    matrix = cv2.getPerspectiveTransform(src, np.array(corners, np.float32))
    rgb_t = as_u8(
        cv2.warpPerspective(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    )
    alpha_t = as_u8(cv2.warpPerspective(alpha, matrix, (w, h), flags=cv2.INTER_LINEAR))
    head = np.zeros((h, w), np.uint8)
    center = cv2.perspectiveTransform(np.array([[HEAD_CENTER]], np.float32), matrix)[0, 0]
    axes = (int(HEAD_AXES[0] * 0.75), int(HEAD_AXES[1]))
    cv2.ellipse(head, (int(center[0]), int(center[1])), axes, 0, 0, 360, (255,), -1)
    cut = int(center[0] + (0.05 if left else -0.05) * FACE_REF_PX)
    if left:
        head[:, :cut] = 0
    else:
        head[:, cut:] = 0
    return _paint(rgb_t, as_u8(cv2.GaussianBlur(head, (0, 0), 3)), bust.hair_rgb), alpha_t


def _paint(rgb: RGBImage, mask: AlphaImage, color: tuple[int, int, int]) -> RGBImage:
    """Hair of ``color`` over ``rgb`` where ``mask`` says, with strands and a lit crown, not a flat blob."""
    h, w = mask.shape
    rng = np.random.default_rng(sum(color))
    strands = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigmaX=0.8, sigmaY=6)
    light = np.linspace(1.15, 0.8, h, dtype=np.float32)[:, None]
    shade = light * (1 + 0.1 * strands / (float(strands.std()) + 1e-6))
    hair = np.clip(np.array(color, np.float32)[None, None, :] * shade[..., None], 0, 255)
    weight = mask.astype(np.float32)[..., None] / 255
    return as_u8(rgb * (1 - weight) + hair * weight + 0.5)


def _back_of_head(rgb: RGBImage, bust: Bust) -> RGBImage:
    mask = np.zeros(rgb.shape[:2], np.uint8)
    center = (int(HEAD_CENTER[0]), int(HEAD_CENTER[1]))
    cv2.ellipse(mask, center, (int(HEAD_AXES[0]) + 2, int(HEAD_AXES[1]) + 2), 0, 0, 360, (255,), -1)
    return _paint(rgb, as_u8(cv2.GaussianBlur(mask, (0, 0), 2)), bust.hair_rgb)


_Premultiplied = tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]


def _premultiply(rgb: RGBImage, alpha: AlphaImage) -> _Premultiplied:
    """(colour x alpha, 256 - alpha) with alpha on 0..256, so blending is one multiply and a shift."""
    a256 = (alpha.astype(np.uint16) + (alpha >> 7))[..., None]
    return rgb.astype(np.uint16) * a256, (256 - a256).astype(np.uint16)


def _blend(frame: RGBImage, sprite: _Premultiplied, x0: int, y0: int) -> None:
    premultiplied, inverse = sprite
    height, width = frame.shape[:2]
    sh, sw = inverse.shape[:2]
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + sw, width), min(y0 + sh, height)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    rows, cols = slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)
    roi = frame[fy0:fy1, fx0:fx1]
    mixed = roi.astype(np.uint16)
    mixed *= inverse[rows, cols]
    mixed += premultiplied[rows, cols]
    mixed >>= 8
    roi[:] = mixed


class SceneRenderer:
    """Renders PersonViews onto the background; pose variants and scaled sprites are cached."""

    def __init__(self, width: int, height: int, cast: tuple[Bust, ...], noise_seed: int = 0) -> None:
        self.width, self.height = width, height
        self._cast = cast
        self._background = store_background(width, height)
        rng = np.random.default_rng(noise_seed)
        # A few precomputed grain patterns: a real sensor never repeats a frame exactly, and the
        # capture watchdog treats identical frames as a frozen camera.
        self._grain = [rng.integers(0, 4, size=(height, width, 3), dtype=np.uint8) for _ in range(3)]
        self._poses: OrderedDict[tuple[int, Pose, bool, bool], _Sprite] = OrderedDict()
        self._scaled: OrderedDict[tuple[int, Pose, bool, bool, int], _Premultiplied] = OrderedDict()

    def _pose(self, cast_index: int, pose: Pose, left: bool, mirrored: bool) -> _Sprite:
        key = (cast_index, pose, left if pose is Pose.TURNED else False, mirrored)
        if key in self._poses:
            self._poses.move_to_end(key)
            return self._poses[key]
        bust = self._cast[cast_index]
        rgb, alpha = bust.rgb, bust.alpha
        if mirrored:
            rgb, alpha = np.ascontiguousarray(rgb[:, ::-1]), np.ascontiguousarray(alpha[:, ::-1])
        if pose is Pose.TURNED:
            rgb, alpha = _turn(rgb, alpha, bust, left)
        elif pose is Pose.AWAY:
            rgb = _back_of_head(rgb, bust)
        self._poses[key] = (rgb, alpha)
        if len(self._poses) > 24:
            self._poses.popitem(last=False)
        return rgb, alpha

    def _sprite(self, person: PersonView, face: int) -> _Premultiplied:
        key = (person.cast_index, person.pose, person.turned_left, person.mirrored, face)
        if key in self._scaled:
            self._scaled.move_to_end(key)
            return self._scaled[key]
        rgb, alpha = self._pose(person.cast_index, person.pose, person.turned_left, person.mirrored)
        size = (max(1, round(BUST_W * face / FACE_REF_PX)), max(1, round(BUST_H * face / FACE_REF_PX)))
        sprite = _premultiply(
            as_u8(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)), as_u8(cv2.resize(alpha, size))
        )
        self._scaled[key] = sprite
        if len(self._scaled) > 32:
            self._scaled.popitem(last=False)
        return sprite

    def render(self, people: tuple[PersonView, ...], t: float, frame_index: int) -> RGBImage:
        frame = self._background.copy()
        for person in people:
            self._draw(frame, person)
        frame = as_u8(cv2.add(frame, self._grain[frame_index % 3]))
        stamp = f"CAM 1  SIM {int(t // 3600):02d}:{int(t // 60) % 60:02d}:{t % 60:04.1f}"
        scale = self.height / 900
        for color, thick in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            origin = (10, int(self.height * 0.08))
            cv2.putText(frame, stamp, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick)
        return frame

    def _draw(self, frame: RGBImage, person: PersonView) -> None:
        face = max(4, round(face_px(self.width, person.distance_m)))
        sprite = self._sprite(person, face)
        scale = face / FACE_REF_PX
        cx, cy = person.x * self.width, HORIZON * self.height
        x0, y0 = round(cx - FACE_CENTER[0] * scale), round(cy - FACE_CENTER[1] * scale)
        torso_bottom = y0 + sprite[1].shape[0]
        feet = int(cy + EYE_HEIGHT_M * face / FACE_WIDTH_M)
        if torso_bottom < self.height:  # far enough away that the legs show
            half = int(0.45 * face)
            trousers = (45, 50, 70)
            cv2.rectangle(frame, (int(cx) - 2 * half, torso_bottom - 2), (int(cx) - 4, feet), trousers, -1)
            cv2.rectangle(frame, (int(cx) + 4, torso_bottom - 2), (int(cx) + 2 * half, feet), trousers, -1)
        _blend(frame, sprite, x0, y0)
