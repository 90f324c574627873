"""Held-out evaluation: metrics, fairness breakdowns, speed, and the plots of ``signage evaluate``.

Images go through exactly the run-time path: MediaPipe detection, :func:`classifier.crop.crop_face`, then
:meth:`AttributeModel.predict` (calibrated). Nothing is cached here.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from classifier.attributes.calibration import expected_calibration_error
from classifier.attributes.datasets import AGE_BANDS, age_band, crop_all, list_fer, list_utkface
from classifier.attributes.metrics import EmotionMetrics, EvaluationReport, GroupMetrics
from classifier.attributes.model import AttributeModel
from classifier.attributes.network import EMOTIONS
from classifier.crop import CROP_SIZE, FaceCropper


@dataclass(frozen=True)
class _Predictions:
    age: np.ndarray
    age_std: np.ndarray
    p_female: np.ndarray
    emotion: np.ndarray  # N x 7


def _predict(model: AttributeModel, crops: np.ndarray, batch: int = 64) -> _Predictions:
    attrs = [a for s in range(0, len(crops), batch) for a in model.predict(crops[s : s + batch])]
    return _Predictions(
        np.array([a.age_years for a in attrs]),
        np.array([a.age_std_years for a in attrs]),
        np.array([a.p_female for a in attrs]),
        np.array([a.emotion_probs for a in attrs]).reshape(-1, 7),
    )


def _group(pred: _Predictions, age: np.ndarray, female: np.ndarray, mask: np.ndarray) -> GroupMetrics:
    n = int(mask.sum())
    if n == 0:
        return GroupMetrics(0, None, None)
    return GroupMetrics(
        n,
        float(np.mean(np.abs(pred.age[mask] - age[mask]))),
        float(np.mean((pred.p_female[mask] > 0.5) == female[mask])),
    )


def measure_ms_per_face(model: AttributeModel, crops: np.ndarray, batch: int = 32, repeats: int = 5) -> float:
    """Batched inference on one thread, median over repeats (the first call warms up)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sample = crops[:batch]
        if len(sample) < batch:
            sample = np.concatenate([sample] * (batch // max(1, len(sample)) + 1))[:batch]
        model.predict(sample)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.predict(sample)
            times.append((time.perf_counter() - start) / len(sample) * 1000.0)
        return statistics.median(times)
    finally:
        torch.set_num_threads(threads)


def evaluate(
    model: AttributeModel, utkface: Path | None, fer2013: Path | None, plots: Path | None = None
) -> EvaluationReport:
    if utkface is None and fer2013 is None:
        raise ValueError("evaluate needs --utkface or --fer2013 (or both).")
    # Crop at CROP_SIZE as the run time does; predict() then shrinks to the network input exactly as
    # training did. Cropping straight at the input size would resample differently.
    cropper = FaceCropper(size=CROP_SIZE)
    all_crops: list[np.ndarray] = []
    age_mae = gender_acc = gender_ece = within = None
    by_band: dict[str, GroupMetrics] = {}
    by_gender: dict[str, GroupMetrics] = {}
    n_utk = n_fer = found_utk = found_fer = 0
    utk_pred = age = female = None
    try:
        if utkface is not None:
            samples = list_utkface(utkface)
            crops, found = crop_all([s.path for s in samples], CROP_SIZE, "utkface", cropper)
            all_crops.append(crops)
            n_utk, found_utk = len(samples), int(found.sum())
            age = np.array([s.age for s in samples], float)
            female = np.array([s.female for s in samples], bool)
            utk_pred = _predict(model, crops)
            everyone = np.ones(n_utk, bool)
            overall = _group(utk_pred, age, female, everyone)
            age_mae, gender_acc = overall.age_mae, overall.gender_accuracy
            bands = np.array([age_band(a) for a in age])
            by_band = {name: _group(utk_pred, age, female, bands == name) for name, _, _ in AGE_BANDS}
            by_gender = {
                "female": _group(utk_pred, age, female, female),
                "male": _group(utk_pred, age, female, ~female),
            }
            confidence = np.maximum(utk_pred.p_female, 1 - utk_pred.p_female)
            gender_ece = expected_calibration_error(confidence, (utk_pred.p_female > 0.5) == female)
            within = float(np.mean(np.abs(utk_pred.age - age) <= utk_pred.age_std))
        emotion_acc = emotion_ece = None
        by_emotion: dict[str, EmotionMetrics] = {}
        fer_pred = labels = None
        if fer2013 is not None:
            fer_samples = list_fer(fer2013)
            crops, found = crop_all([s.path for s in fer_samples], CROP_SIZE, "fer2013", cropper)
            all_crops.append(crops)
            n_fer, found_fer = len(fer_samples), int(found.sum())
            labels = np.array([s.emotion for s in fer_samples])
            fer_pred = _predict(model, crops)
            guess = fer_pred.emotion.argmax(axis=1)
            emotion_acc = float(np.mean(guess == labels))
            emotion_ece = expected_calibration_error(fer_pred.emotion.max(axis=1), guess == labels)
            for i, name in enumerate(EMOTIONS):
                mask = labels == i
                by_emotion[name] = EmotionMetrics(
                    int(mask.sum()), float(np.mean(guess[mask] == i)) if mask.any() else None
                )
    finally:
        cropper.close()
    ms = measure_ms_per_face(model, np.concatenate(all_crops))
    report = EvaluationReport(
        age_mae,
        gender_acc,
        emotion_acc,
        n_utk,
        n_fer,
        ms,
        by_band,
        by_gender,
        by_emotion,
        gender_ece,
        emotion_ece,
        within,
        found_utk,
        found_fer,
    )
    if plots is not None:
        from classifier.attributes.plots import write_plots

        write_plots(
            plots,
            report,
            utk_pred.age if utk_pred else None,
            age,
            utk_pred.p_female if utk_pred else None,
            female,
            fer_pred.emotion if fer_pred else None,
            labels,
        )
    return report
