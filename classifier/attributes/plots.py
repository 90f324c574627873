"""PNG charts for ``signage evaluate --plots``: confusion matrices and fairness charts (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from classifier.attributes.metrics import EvaluationReport
from classifier.attributes.network import EMOTIONS


def _confusion(path: Path, truth: np.ndarray, guess: np.ndarray, names: list[str], title: str) -> None:
    k = len(names)
    matrix = np.zeros((k, k))
    for t, g in zip(truth, guess, strict=True):
        matrix[t, g] += 1
    rows = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.1 * k + 2, 1.0 * k + 1.5))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{rows[i, j]:.2f}\n({int(matrix[i, j])})",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if rows[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(
    path: Path,
    labels: list[str],
    values: list[float | None],
    counts: list[int],
    title: str,
    ylabel: str,
    target: float | None,
) -> None:
    fig, ax = plt.subplots(figsize=(max(5.0, 0.8 * len(labels) + 2), 3.8))
    heights = [v if v is not None else 0.0 for v in values]
    bars = ax.bar(labels, heights, color="#4a78b5")
    for bar, v, n in zip(bars, values, counts, strict=True):
        text = "n/a" if v is None else f"{v:.3g}\nn={n}"
        ax.annotate(
            text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=7
        )
    if target is not None:
        ax.axhline(target, color="#c0392b", linestyle="--", linewidth=1, label=f"target {target:g}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.margins(y=0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(
    folder: Path,
    report: EvaluationReport,
    age_pred: np.ndarray | None,
    age: np.ndarray | None,
    p_female: np.ndarray | None,
    female: np.ndarray | None,
    emotion_probs: np.ndarray | None,
    emotion: np.ndarray | None,
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if age_pred is not None and age is not None and p_female is not None and female is not None:
        path = folder / "gender_confusion.png"
        _confusion(
            path,
            female.astype(int),
            (p_female > 0.5).astype(int),
            ["male", "female"],
            "Gender (UTKFace held-out)",
        )
        written.append(path)
        bands = list(report.by_age_band)
        groups = [report.by_age_band[b] for b in bands] + [report.by_gender[g] for g in report.by_gender]
        names = bands + list(report.by_gender)
        path = folder / "fairness_age_mae.png"
        _bars(
            path,
            names,
            [g.age_mae for g in groups],
            [g.n for g in groups],
            "Age MAE by age band and gender",
            "MAE (years)",
            5.0,
        )
        written.append(path)
        path = folder / "fairness_gender_accuracy.png"
        _bars(
            path,
            names,
            [g.gender_accuracy for g in groups],
            [g.n for g in groups],
            "Gender accuracy by age band and gender",
            "accuracy",
            0.94,
        )
        written.append(path)
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.scatter(age, age_pred, s=3, alpha=0.3)
        ax.plot([0, 100], [0, 100], color="#c0392b", linewidth=1)
        ax.set_xlabel("true age")
        ax.set_ylabel("predicted age")
        ax.set_title(f"Age (MAE {report.age_mae:.2f})")
        fig.tight_layout()
        path = folder / "age_scatter.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    if emotion_probs is not None and emotion is not None:
        path = folder / "emotion_confusion.png"
        _confusion(path, emotion, emotion_probs.argmax(axis=1), list(EMOTIONS), "Emotion (FER2013)")
        written.append(path)
        path = folder / "fairness_emotion_recall.png"
        items = [report.by_emotion[e] for e in EMOTIONS if e in report.by_emotion]
        _bars(
            path,
            [e for e in EMOTIONS if e in report.by_emotion],
            [m.recall for m in items],
            [m.n for m in items],
            "Emotion recall per class",
            "recall",
            None,
        )
        written.append(path)
    return written
