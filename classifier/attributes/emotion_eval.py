"""Measure the grey emotion network against the shipped attribute model, and pin it in ``models/``.

``evaluate`` reports the calibration and held-out (FER ``validation`` = PublicTest) accuracy of the
network alone and averaged with the attribute network's own emotion probabilities (weight and the
blend's temperature chosen on the calibration split only), the one-thread time per face at batch 3,
the parameter count and the file size. ``ship`` copies the network into ``models/face_emotion.pt`` and
pins it as the manifest's ``face_emotion`` entry. Both run from ``python -m classifier.attributes.emotion_train``.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from classifier.attributes.calibration import emotion_nll, fit_temperature
from classifier.attributes.datasets import SEED, cached_crops, crop_all, fer_folder, list_fer, split_fer_train
from classifier.attributes.emotion_net import EMOTION_INPUT, EmotionModel
from classifier.attributes.manifest import EMOTION_ENTRY, pinned_file, write_entry
from classifier.attributes.model import AttributeModel
from classifier.crop import CROP_SIZE


def ms_per_face(predict: Any, crops: np.ndarray, repeats: int = 200) -> tuple[float, float]:
    """One thread, one batch of ``crops``: median (wall, CPU) ms per face; CPU time is what the net costs
    when the machine is not shared, wall time includes waiting for the other processes on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(10):
            predict(crops)
        wall, cpu = [], []
        for _ in range(repeats):
            w, c = time.perf_counter(), time.thread_time()
            predict(crops)
            wall.append(time.perf_counter() - w)
            cpu.append(time.thread_time() - c)
        return statistics.median(wall) / len(crops) * 1e3, statistics.median(cpu) / len(crops) * 1e3
    finally:
        torch.set_num_threads(threads)


def evaluate(fer2013: Path, work_dir: Path, weights: Path, models: Path, seed: int = SEED) -> dict[str, Any]:
    model = EmotionModel.load(weights)
    attr = AttributeModel.load(models).network_only()  # the attribute network's own emotion
    fer_all = list_fer(fer_folder(fer2013, "train"))
    split = split_fer_train(fer_all, seed)
    cal_idx = np.array(split.calibration, int)
    train_crops = cached_crops([s.path for s in fer_all], work_dir / "crops", "fer_train")
    cal_crops = train_crops[cal_idx]
    del train_crops
    cal_y = np.array([fer_all[i].emotion for i in cal_idx])
    test = list_fer(fer_folder(fer2013, "validation"))
    test_crops, _found = crop_all([s.path for s in test], CROP_SIZE, "fer2013 validation")
    test_y = np.array([s.emotion for s in test])

    def attr_probs(crops: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                np.array([a.emotion_probs for a in attr.predict(crops[s : s + 64])])
                for s in range(0, len(crops), 64)
            ]
        )

    def emo_probs(crops: np.ndarray) -> np.ndarray:
        return np.concatenate([model.probs(crops[s : s + 256]) for s in range(0, len(crops), 256)])

    p_cal_e, p_cal_a = emo_probs(cal_crops), attr_probs(cal_crops)
    weights_grid = [round(w, 2) for w in np.linspace(0.0, 1.0, 21)]

    def acc(p: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(p.argmax(1) == y))

    cal_by_w = {w: acc(w * p_cal_e + (1 - w) * p_cal_a, cal_y) for w in weights_grid}
    best_w = max(weights_grid, key=lambda w: (cal_by_w[w], -abs(w - 0.5)))
    # Averaging two calibrated distributions flattens them: one more temperature on the blend's log
    # probabilities, fitted on the calibration split, makes its confidence mean what it says again.
    blend_t = fit_temperature(emotion_nll, np.log(best_w * p_cal_e + (1 - best_w) * p_cal_a + 1e-9), cal_y)
    p_te_e, p_te_a = emo_probs(test_crops), attr_probs(test_crops)
    batch3 = test_crops[:3]
    emo_wall, emo_cpu = ms_per_face(model.probs, batch3)
    attr_wall, attr_cpu = ms_per_face(attr.predict, batch3)
    net = model.net
    return {
        "weights": str(weights),
        "n_calibration": len(cal_y),
        "n_test": len(test_y),
        "temperature": model.temperature,
        "calibration": {
            "emotion_net": acc(p_cal_e, cal_y),
            "shipped_model": acc(p_cal_a, cal_y),
            "ensemble": cal_by_w[best_w],
            "ensemble_weight_of_emotion_net": best_w,
            "ensemble_by_weight": cal_by_w,
            "blend_temperature": blend_t,
        },
        "test_publictest": {
            "emotion_net": acc(p_te_e, test_y),
            "shipped_model": acc(p_te_a, test_y),
            "ensemble": acc(best_w * p_te_e + (1 - best_w) * p_te_a, test_y),
        },
        "ms_per_face_batch3_one_thread": {
            "emotion_net_wall": emo_wall,
            "emotion_net_cpu": emo_cpu,
            "attribute_model_wall": attr_wall,
            "attribute_model_cpu": attr_cpu,
        },
        "parameters": sum(p.numel() for p in net.parameters()),
        "file_bytes": weights.stat().st_size,
    }


SHIPPED_FILE = "face_emotion.pt"


def ship(weights: Path, report: dict[str, Any], models: Path, commands: Sequence[str]) -> dict[str, Any]:
    """Copy the network into ``models`` and pin it, with the calibration-chosen blend weight and the
    evaluation's figures, as the manifest's ``face_emotion`` entry."""
    model = EmotionModel.load(weights)  # refuses anything that is not an emotion-network checkpoint
    target = models / SHIPPED_FILE
    shutil.copyfile(weights, target)
    cal, test = report["calibration"], report["test_publictest"]
    entry: dict[str, Any] = {
        **pinned_file(target),
        "architecture": (
            f"VGG-style CNN, widths {list(model.net.widths)}, {report['parameters']} parameters, on the "
            f"run-time eye-aligned crop turned grey and shrunk to {EMOTION_INPUT} px; fp16 storage"
        ),
        "ensemble_weight": float(cal["ensemble_weight_of_emotion_net"]),
        "blend_temperature": float(cal.get("blend_temperature", 1.0)),
        "temperature": model.temperature,
        "data": "FER2013 train folder, the project's seeded split (datasets.split_fer_train): 95% train, "
        "5% calibration picks the epoch, the temperature and the blend weight",
        "training": {"commands": list(commands)},
        "metrics": {
            "calibration_split": {
                "emotion_net_accuracy": cal["emotion_net"],
                "attribute_net_accuracy": cal["shipped_model"],
                "blended_accuracy": cal["ensemble"],
            },
            "held_out_test": {
                "n_fer2013": report["n_test"],
                "emotion_net_accuracy": test["emotion_net"],
                "attribute_net_accuracy": test["shipped_model"],
                "blended_accuracy": test["ensemble"],
                "emotion_net_ms_per_face_batch3": report["ms_per_face_batch3_one_thread"]["emotion_net_wall"],
            },
        },
    }
    write_entry(models, EMOTION_ENTRY, entry)
    return entry
