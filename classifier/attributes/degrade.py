"""``signage evaluate --degrade``: the held-out faces re-rendered as a store camera would see them.

Each named condition is one set of :class:`~classifier.attributes.augment.CameraParams` applied to every
face with :func:`~classifier.attributes.augment.render_camera`, the same function (and order) the training
augmentation samples from. Faces are detected and cropped once from the original images, exactly as in
``evaluation.py``; a condition then re-renders the crop: ``face_32px`` shrinks it to the side at which the
detection box is 32 px wide (see ``augment.FACE_WIDTH_PER_CROP``) and scales it back up as ``crop_face`` does
for a small face. Yaw cannot be re-rendered from a frontal photo, so no yaw condition is offered.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from classifier.attributes.augment import CameraParams, render_camera, to_batch, to_crops
from classifier.attributes.datasets import age_band, crop_all, list_fer, list_utkface
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
    "face_24px": ("face (detection box) 24 px wide in the camera frame", {"face_px": 24.0}),
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


@dataclass(frozen=True)
class DegradeReport:
    n_utkface: int
    n_fer2013: int
    conditions: dict[str, ConditionMetrics]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


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
    try:
        if utkface is not None:
            samples = list_utkface(utkface)
            utk_crops, _ = crop_all([s.path for s in samples], CROP_SIZE, "utkface", cropper)
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
    for name in names:
        mae = gender = g_f = g_m = g_c = emotion = None
        if utk_crops is not None:
            pred = _predict(model, degrade_crops(utk_crops, name))
            right = (pred.p_female > 0.5) == female
            mae = float(np.mean(np.abs(pred.age - age))) if len(age) else None
            gender = _mean(np.ones(len(right), bool), right)
            g_f, g_m, g_c = _mean(female, right), _mean(~female, right), _mean(child, right)
        if fer_crops is not None:
            guess = _predict(model, degrade_crops(fer_crops, name)).emotion.argmax(axis=1)
            emotion = float(np.mean(guess == labels)) if len(labels) else None
        results[name] = ConditionMetrics(CONDITIONS[name][0], mae, gender, g_f, g_m, g_c, emotion)
    return DegradeReport(
        0 if utk_crops is None else len(utk_crops), 0 if fer_crops is None else len(fer_crops), results
    )
