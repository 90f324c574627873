"""``signage evaluate --degrade``: the held-out faces re-rendered as a store camera would see them.

Each named condition is one set of :class:`~classifier.attributes.augment.CameraParams` applied to every
face with :func:`~classifier.attributes.augment.render_camera`, the same function (and order) the training
augmentation samples from. Faces are detected and cropped once from the original images, exactly as in
``evaluation.py``; a condition then re-renders the crop: ``face_32px`` shrinks it to the side at which the
detection box is 32 px wide (see ``augment.FACE_WIDTH_PER_CROP``) and scales it back up as ``crop_face`` does
for a small face. Yaw cannot be re-rendered from a frontal photo; instead the clean UTKFace faces are
binned by the yaw the product's own head-pose estimate gives them (``by_yaw``), which is as far as the
data allows: few in-the-wild portraits turn past 30 degrees. :func:`recommend` turns the figures into the
smallest face width and the largest yaw worth classifying, by a rule stated there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from classifier.attributes.augment import CameraParams, render_camera, to_batch, to_crops
from classifier.attributes.datasets import age_band, crop_all, list_fer, list_utkface, read_rgb
from classifier.attributes.evaluation import _predict
from classifier.attributes.model import AttributeModel
from classifier.crop import CROP_SIZE, FaceCropper

SEED = 20261205  # sensor noise of the dim-light condition


def _const(n: int, **values: float | bool | int) -> CameraParams:
    p = CameraParams.neutral(n)
    fields: dict[str, torch.Tensor] = {}
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


# name -> (what it stands for, parameters); "clean" is the plain evaluation (UTKFace in colour).
CONDITIONS: dict[str, tuple[str, dict[str, float | bool | int]]] = {
    "clean": ("the crop as detected (colour)", {}),
    "face_16px": ("face (detection box) 16 px wide in the camera frame", {"face_px": 16.0}),
    "face_20px": ("face 20 px wide", {"face_px": 20.0}),
    "face_24px": ("face 24 px wide", {"face_px": 24.0}),
    "face_32px": ("face 32 px wide", {"face_px": 32.0}),
    "face_48px": ("face 48 px wide", {"face_px": 48.0}),
    "motion_blur": ("a 7 px streak across the face (walking past)", {"blur_px": 7.0, "blur_angle": 0.0}),
    "jpeg_q30": ("JPEG quality 30 (a compressed network stream)", {"jpeg_quality": 30}),
    "dim_light": ("a third of the light, with sensor noise", {"gain": 0.35, "noise_std": 5.0}),
    "grey": ("grey-scale (a night-mode camera; FER2013 faces are grey already)", {"grey": True}),
    "store_32px": (
        "32 px face, 3 px blur, JPEG 50, 70 % light: a plausible store camera",
        {"face_px": 32.0, "blur_px": 3.0, "jpeg_quality": 50, "gain": 0.7, "noise_std": 3.0},
    ),
}


@dataclass(frozen=True)
class ConditionMetrics:
    description: str
    age_mae: float | None
    gender_accuracy: float | None
    gender_accuracy_female: float | None
    gender_accuracy_male: float | None
    gender_accuracy_child: float | None  # under 13
    emotion_accuracy: float | None


YAW_BINS: tuple[tuple[float, float], ...] = ((0.0, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, 90.0))
MIN_BIN_FACES = 30  # a yaw bin with fewer faces says nothing and is not used by ``recommend``
# ``recommend``'s rule: classify a face when gender stays within this many points of the clean
# (or frontal) figure and age within this many years; the must at 32 px is 88 %.
GENDER_DROP_POINTS = 3.0
AGE_RISE_YEARS = 1.0


@dataclass(frozen=True)
class YawBin:
    low_deg: float
    high_deg: float
    n: int
    age_mae: float | None
    gender_accuracy: float | None


@dataclass(frozen=True)
class Recommendation:
    min_face_px: float | None  # None: no tested width qualifies
    max_yaw_deg: float | None  # None: the data cannot say (too few turned faces)
    rule: str


@dataclass(frozen=True)
class DegradeReport:
    n_utkface: int
    n_fer2013: int
    conditions: dict[str, ConditionMetrics]
    by_yaw: tuple[YawBin, ...] = ()
    n_no_yaw: int = 0  # faces whose pose could not be estimated

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "recommendation": asdict(recommend(self))}, indent=2)


def face_width_conditions() -> list[tuple[float, str]]:
    """(width px, condition name) of the plain face-width conditions, narrowest first."""
    widths = [(float(v["face_px"]), k) for k, (_, v) in CONDITIONS.items() if set(v) == {"face_px"}]
    return sorted(widths)


def recommend(report: DegradeReport) -> Recommendation:
    """The smallest face width and the largest yaw at which the attributes hold up, from the figures.

    A width qualifies when its gender accuracy is within ``GENDER_DROP_POINTS`` of the clean figure and
    its age MAE within ``AGE_RISE_YEARS`` of it, and so does every wider one; a yaw bin qualifies the same
    way against the frontal bin (0-10 degrees), using bins of at least ``MIN_BIN_FACES`` faces.
    """
    rule = (
        f"gender within {GENDER_DROP_POINTS:g} points and age MAE within {AGE_RISE_YEARS:g} year(s) of the "
        f"clean figure (face width) or of the frontal 0-10 degree bin (yaw, bins of >= {MIN_BIN_FACES} faces)"
    )

    def holds(gender: float | None, mae: float | None, ref_gender: float, ref_mae: float) -> bool:
        return (
            gender is not None
            and mae is not None
            and 100 * (ref_gender - gender) <= GENDER_DROP_POINTS
            and mae - ref_mae <= AGE_RISE_YEARS
        )

    clean = report.conditions.get("clean")
    min_px = None
    if clean is not None and clean.gender_accuracy is not None and clean.age_mae is not None:
        for width, name in sorted(face_width_conditions(), reverse=True):
            m = report.conditions.get(name)
            if m is None or not holds(m.gender_accuracy, m.age_mae, clean.gender_accuracy, clean.age_mae):
                break
            min_px = width
    max_yaw = None
    bins = [b for b in report.by_yaw if b.n >= MIN_BIN_FACES]
    if (
        bins
        and bins[0].low_deg == 0.0
        and bins[0].gender_accuracy is not None
        and bins[0].age_mae is not None
    ):
        frontal = bins[0]
        assert frontal.gender_accuracy is not None and frontal.age_mae is not None
        for b in bins:
            if not holds(b.gender_accuracy, b.age_mae, frontal.gender_accuracy, frontal.age_mae):
                break
            max_yaw = b.high_deg if b.high_deg < 90.0 else b.low_deg
    return Recommendation(min_px, max_yaw, rule)


def _yaw(cropper: FaceCropper, path: Path) -> float | None:
    try:
        return cropper.yaw(read_rgb(path))
    except ValueError:
        return None


def _yaw_bins(yaw: np.ndarray, right: np.ndarray, abs_err: np.ndarray) -> tuple[YawBin, ...]:
    bins = []
    turned = np.abs(yaw)
    for low, high in YAW_BINS:
        mask = (turned >= low) & (turned < high)
        bins.append(YawBin(low, high, int(mask.sum()), _mean(mask, abs_err), _mean(mask, right)))
    return tuple(bins)


def degrade_crops(crops: np.ndarray, condition: str, seed: int = SEED) -> np.ndarray:
    """uint8 N x S x S x 3 crops re-rendered under a named condition (deterministic)."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition '{condition}'; choose from {', '.join(CONDITIONS)}.")
    values = CONDITIONS[condition][1]
    if not values or len(crops) == 0:
        return crops
    out = np.empty_like(crops)
    g = torch.Generator().manual_seed(seed)
    for start in range(0, len(crops), 256):
        chunk = to_batch(crops[start : start + 256])
        out[start : start + len(chunk)] = to_crops(render_camera(chunk, _const(len(chunk), **values), g))
    return out


def _mean(mask: np.ndarray, values: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def evaluate_degraded(
    model: AttributeModel, utkface: Path | None, fer2013: Path | None, conditions: list[str] | None = None
) -> DegradeReport:
    if utkface is None and fer2013 is None:
        raise ValueError("evaluate --degrade needs --utkface or --fer2013 (or both).")
    names = conditions or list(CONDITIONS)
    for name in names:
        if name not in CONDITIONS:
            raise ValueError(f"unknown condition '{name}'; choose from {', '.join(CONDITIONS)}.")
    cropper = FaceCropper(size=CROP_SIZE)
    utk_crops = fer_crops = None
    yaw = np.zeros(0)
    try:
        if utkface is not None:
            samples = list_utkface(utkface)
            utk_crops, _ = crop_all([s.path for s in samples], CROP_SIZE, "utkface", cropper)
            yaw = np.array([np.nan if (v := _yaw(cropper, s.path)) is None else v for s in samples], float)
            age = np.array([s.age for s in samples], float)
            female = np.array([s.female for s in samples], bool)
            child = np.array([age_band(a) == "child" for a in age])
        if fer2013 is not None:
            fer_samples = list_fer(fer2013)
            fer_crops, _ = crop_all([s.path for s in fer_samples], CROP_SIZE, "fer2013", cropper)
            labels = np.array([s.emotion for s in fer_samples])
    finally:
        cropper.close()
    results: dict[str, ConditionMetrics] = {}
    by_yaw: tuple[YawBin, ...] = ()
    for name in names:
        mae = gender = g_f = g_m = g_c = emotion = None
        if utk_crops is not None:
            pred = _predict(model, degrade_crops(utk_crops, name))
            right = (pred.p_female > 0.5) == female
            mae = float(np.mean(np.abs(pred.age - age))) if len(age) else None
            gender = _mean(np.ones(len(right), bool), right)
            g_f, g_m, g_c = _mean(female, right), _mean(~female, right), _mean(child, right)
            if name == "clean":
                known = ~np.isnan(yaw)
                by_yaw = _yaw_bins(yaw[known], right[known], np.abs(pred.age - age)[known])
        if fer_crops is not None:
            guess = _predict(model, degrade_crops(fer_crops, name)).emotion.argmax(axis=1)
            emotion = float(np.mean(guess == labels)) if len(labels) else None
        results[name] = ConditionMetrics(CONDITIONS[name][0], mae, gender, g_f, g_m, g_c, emotion)
    return DegradeReport(
        0 if utk_crops is None else len(utk_crops),
        0 if fer_crops is None else len(fer_crops),
        results,
        by_yaw,
        int(np.isnan(yaw).sum()),
    )
