"""How well a subject predictor does on a labelled folder of ads: accuracy, abstention, confusions, speed.

The folder holds media and a ``labels.csv`` (``file,subject`` at least; a label may list several
subjects as ``food|drinks``, any of which counts as right). The predictor is any callable from a
path to a ``Prediction``, so the same report measures the shipped classifier, an older one, or a
variant; nothing here reads a label from a file name.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from classifier.subjects.frames import IMAGE_SUFFIXES, MediaSamplingError
from classifier.subjects.split import label_subjects, read_labels
from classifier.subjects.types import SubjectScores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    scores: SubjectScores  # calibrated probabilities, best first
    abstained: bool = False  # the predictor is not sure enough to suggest anything


@dataclass(frozen=True)
class LabelledItem:
    file: str
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class ItemResult:
    file: str
    truth: tuple[str, ...]
    ranked: tuple[str, ...]  # top three ids
    confidence: float  # probability of the top subject
    abstained: bool
    seconds: float
    kind: str  # "still" or "video"
    error: str = ""


@dataclass
class SubjectEvaluationReport:
    """How the subject classifier did on a labelled folder (``signage ads evaluate``)."""

    items: int = 0
    errors: int = 0
    top1: float = 0.0
    top3: float = 0.0
    abstention_rate: float = 0.0
    answered: int = 0
    answered_top1: float = 0.0  # accuracy of the answers given (abstentions left out)
    seconds_per_item: float = 0.0
    seconds_per_still: float = 0.0
    seconds_per_video: float = 0.0
    expected_calibration_error: float = 0.0
    per_subject_recall: dict[str, float] = field(default_factory=dict)
    per_subject_count: dict[str, int] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # truth -> predicted -> count
    most_confused: list[str] = field(default_factory=list)
    results: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self, *, with_items: bool = True) -> dict[str, object]:
        out = asdict(self)
        if not with_items:
            out.pop("results")
        return out


def load_items(labels: Path) -> list[LabelledItem]:
    return [LabelledItem(r["file"], label_subjects(r["subject"])) for r in read_labels(labels)]


def _kind(path: Path) -> str:
    return "still" if path.suffix.lower() in IMAGE_SUFFIXES else "video"


def run(
    folder: Path,
    items: Sequence[LabelledItem],
    predict: Callable[[Path], Prediction],
    progress: Callable[[str], None] | None = None,
) -> list[ItemResult]:
    results = []
    for item in items:
        path = folder / item.file
        if progress:
            progress(item.file)
        started = time.perf_counter()
        try:
            prediction = predict(path)
        except (MediaSamplingError, OSError) as exc:
            log.warning("cannot classify %s: %s", path, exc)
            results.append(ItemResult(item.file, item.subjects, (), 0.0, True, 0.0, _kind(path), str(exc)))
            continue
        seconds = time.perf_counter() - started
        top = prediction.scores.top
        results.append(
            ItemResult(
                item.file,
                item.subjects,
                prediction.scores.top_ids(3),
                top.score if top else 0.0,
                prediction.abstained,
                seconds,
                _kind(path),
            )
        )
    return results


def calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error of the top-1 confidence (equal-width bins)."""
    if not confidences:
        return 0.0
    conf, hit = np.asarray(confidences, float), np.asarray(correct, float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(conf[mask].mean() - hit[mask].mean())
    return float(total)


def summarise(results: Sequence[ItemResult]) -> SubjectEvaluationReport:
    """Metrics over the items; a file that could not be read counts as wrong and abstained."""
    n = len(results)
    if n == 0:
        return SubjectEvaluationReport()
    hit1 = [bool(r.ranked) and r.ranked[0] in r.truth for r in results]
    hit3 = [bool(set(r.ranked) & set(r.truth)) for r in results]
    answered = [r for r, _ in zip(results, hit1, strict=True) if not r.abstained]
    answered_hits = [h for r, h in zip(results, hit1, strict=True) if not r.abstained]
    per_total: Counter[str] = Counter()
    per_hit: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for r, h in zip(results, hit1, strict=True):
        predicted = r.ranked[0] if r.ranked else "(error)"
        # The label an item is filed under: the one it got right, else the first listed.
        truth = predicted if h else r.truth[0] if r.truth else "(none)"
        for subject in r.truth:
            per_total[subject] += 1
            per_hit[subject] += r.ranked[:1] == (subject,)
        confusion[truth][predicted] += 1
    misses: Counter[str] = Counter()
    for truth, row in confusion.items():
        for predicted, count in row.items():
            if predicted != truth:
                misses[f"{truth} -> {predicted}"] += count
    timed = [r for r in results if not r.error]

    def mean_seconds(kind: str | None) -> float:
        values = [r.seconds for r in timed if kind is None or r.kind == kind]
        return float(np.mean(values)) if values else 0.0

    return SubjectEvaluationReport(
        items=n,
        errors=sum(bool(r.error) for r in results),
        top1=sum(hit1) / n,
        top3=sum(hit3) / n,
        abstention_rate=1.0 - len(answered) / n,
        answered=len(answered),
        answered_top1=sum(answered_hits) / len(answered) if answered else 0.0,
        seconds_per_item=mean_seconds(None),
        seconds_per_still=mean_seconds("still"),
        seconds_per_video=mean_seconds("video"),
        expected_calibration_error=calibration_error(
            [r.confidence for r in timed], [h for r, h in zip(results, hit1, strict=True) if not r.error]
        ),
        per_subject_recall={s: per_hit[s] / per_total[s] for s in sorted(per_total)},
        per_subject_count={s: per_total[s] for s in sorted(per_total)},
        confusion={t: dict(sorted(row.items())) for t, row in sorted(confusion.items())},
        most_confused=[f"{k} x{v}" for k, v in misses.most_common(10)],
        results=[asdict(r) for r in results],
    )


def evaluate(
    folder: Path,
    predict: Callable[[Path], Prediction],
    *,
    labels: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SubjectEvaluationReport:
    """Run ``predict`` on every labelled file of ``folder`` and summarise."""
    items = load_items(labels if labels is not None else folder / "labels.csv")
    return summarise(run(folder, items, predict, progress))


def write_plots(report: SubjectEvaluationReport, folder: Path) -> list[Path]:
    """A confusion-matrix image and a reliability diagram (confidence against accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    subjects = sorted({*report.confusion, *(p for row in report.confusion.values() for p in row)})
    matrix = np.array([[report.confusion.get(t, {}).get(p, 0) for p in subjects] for t in subjects])
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * len(subjects), 1.0 + 0.45 * len(subjects)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(subjects)), subjects, rotation=60, ha="right")
    ax.set_yticks(range(len(subjects)), subjects)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                color="black" if count < matrix.max() / 2 else "white",
            )
    ax.set_xlabel("predicted (top 1)")
    ax.set_ylabel("label")
    ax.set_title(f"top-1 {report.top1:.0%}, top-3 {report.top3:.0%}, n={report.items}")
    fig.tight_layout()
    confusion_png = folder / "confusion.png"
    fig.savefig(confusion_png, dpi=110)
    plt.close(fig)

    rows = [r for r in report.results if not r["error"]]
    conf = np.array([float(str(r["confidence"])) for r in rows])
    hit = np.array([_right(r) for r in rows], dtype=np.float64)
    edges = np.linspace(0, 1, 6)
    centres, accuracy, counts = [], [], []
    for lo, hi in itertools.pairwise(edges):
        mask = (conf >= lo) & (conf < hi if hi < 1 else conf <= hi)
        if mask.any():
            centres.append(float(conf[mask].mean()))
            accuracy.append(float(hit[mask].mean()))
            counts.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.plot(centres, accuracy, marker="o")
    for x, y, c in zip(centres, accuracy, counts, strict=True):
        ax.annotate(str(c), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the top subject")
    ax.set_ylabel("fraction right")
    ax.set_title(f"calibration (ECE {report.expected_calibration_error:.2f})")
    fig.tight_layout()
    reliability_png = folder / "reliability.png"
    fig.savefig(reliability_png, dpi=110)
    plt.close(fig)
    return [confusion_png, reliability_png]


def _right(row: dict[str, object]) -> bool:
    ranked, truth = row["ranked"], row["truth"]
    return (
        isinstance(ranked, list | tuple)
        and isinstance(truth, list | tuple)
        and bool(ranked)
        and ranked[0] in truth
    )


def format_report(report: SubjectEvaluationReport) -> str:
    lines = [
        f"{report.items} ads ({report.errors} unreadable): top-1 {report.top1:.1%}, top-3 {report.top3:.1%}",
        f"abstained on {report.abstention_rate:.1%}; right on {report.answered_top1:.1%} of the "
        f"{report.answered} answered",
        f"{report.seconds_per_item:.2f} s per ad (stills {report.seconds_per_still:.2f} s, "
        f"videos {report.seconds_per_video:.2f} s); calibration error {report.expected_calibration_error:.3f}",
        "recall per subject:",
    ]
    lines += [
        f"  {s:12s} {v:5.0%}  (n={report.per_subject_count[s]})" for s, v in report.per_subject_recall.items()
    ]
    if report.most_confused:
        lines.append("most confused: " + ", ".join(report.most_confused))
    return "\n".join(lines)
