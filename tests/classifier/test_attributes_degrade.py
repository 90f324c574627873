"""``signage evaluate --degrade``: named store-camera conditions over held-out faces."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from classifier.attributes.degrade import (
    CONDITIONS,
    ConditionMetrics,
    DegradeReport,
    YawBin,
    degrade_crops,
    recommend,
)

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def _faces() -> list[np.ndarray]:
    from matplotlib import cbook
    from skimage import data

    hopper = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    return [np.ascontiguousarray(hopper[:, :, ::-1]), np.ascontiguousarray(data.astronaut())]


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    faces = [cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA) for f in _faces()]
    return np.stack([*faces, faces[0][:, ::-1]])


def _sharpness(c: np.ndarray) -> float:
    x = c.astype(np.float32)
    return float(np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean())


def test_every_condition_but_clean_changes_colour_faces(crops: np.ndarray) -> None:
    assert degrade_crops(crops, "clean") is crops
    for name in CONDITIONS:
        if name == "clean":
            continue
        out = degrade_crops(crops, name)
        assert out.shape == crops.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - crops).mean() > 0.5, name
        assert np.array_equal(out, degrade_crops(crops, name)), name  # deterministic, noise included


def test_conditions_degrade_in_the_expected_direction(crops: np.ndarray) -> None:
    sharp = [_sharpness(degrade_crops(crops, f"face_{px}px")) for px in (24, 32, 48)]
    assert sharp[0] < sharp[1] < sharp[2] < _sharpness(crops)
    assert degrade_crops(crops, "dim_light").mean() < 0.5 * crops.mean()
    grey = degrade_crops(crops, "grey")
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    with pytest.raises(ValueError, match="unknown condition 'fog'"):
        degrade_crops(crops, "fog")


def _dataset(tmp_path: Path) -> tuple[Path, Path]:
    utk, fer = tmp_path / "utk", tmp_path / "fer"
    utk.mkdir()
    hopper, astronaut = _faces()
    for name, image in (
        ("79_1_0_20170101000000001.jpg.chip.jpg", hopper),
        ("38_1_0_20170101000000002.jpg.chip.jpg", astronaut),
        ("8_0_0_20170101000000003.jpg.chip.jpg", hopper[:, ::-1]),
    ):
        cv2.imwrite(str(utk / name), np.ascontiguousarray(image[:, :, ::-1]))
    for emotion, image in (("happy", astronaut), ("neutral", hopper)):
        (fer / emotion).mkdir(parents=True)
        grey = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(fer / emotion / "0.jpg"), grey)
    return utk, fer


@pytest.mark.slow  # MediaPipe detection and inference of the shipped model: a few seconds
def test_degrade_command_reports_each_condition_and_clean_matches_evaluate(tmp_path: Path) -> None:
    from signage.cli import app

    utk, fer = _dataset(tmp_path)
    runner = CliRunner()
    base = ["evaluate", "--utkface", str(utk), "--fer2013", str(fer), "--json", "--models", str(MODELS)]
    result = runner.invoke(app, [*base, "--degrade", "--conditions", "clean,face_24px,jpeg_q30"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["n_utkface"] == 3 and report["n_fer2013"] == 2
    assert list(report["conditions"]) == ["clean", "face_24px", "jpeg_q30"]
    clean = report["conditions"]["clean"]
    assert clean["gender_accuracy_child"] is not None and clean["gender_accuracy_male"] is not None
    plain = runner.invoke(app, base)
    assert plain.exit_code == 0, plain.output
    figures = json.loads(plain.stdout[plain.stdout.index("{") :])
    # "clean" is the plain evaluation: the same crops through the same model.
    assert clean["age_mae"] == pytest.approx(figures["age_mae"])
    assert clean["gender_accuracy"] == pytest.approx(figures["gender_accuracy"])
    assert clean["emotion_accuracy"] == pytest.approx(figures["emotion_accuracy"])
    assert report["conditions"]["face_24px"]["age_mae"] != pytest.approx(clean["age_mae"])
    # Every face got a head-pose estimate; these portraits are near frontal.
    assert report["n_no_yaw"] == 0 and sum(b["n"] for b in report["by_yaw"]) == 3
    assert report["by_yaw"][0]["n"] + report["by_yaw"][1]["n"] >= 2
    assert set(report["recommendation"]) == {"min_face_px", "max_yaw_deg", "rule"}
    bad = runner.invoke(app, [*base, "--degrade", "--conditions", "clean,fog"])
    assert bad.exit_code == 2 and "unknown condition 'fog'" in bad.output


def _metrics(gender: float, mae: float) -> ConditionMetrics:
    return ConditionMetrics("", mae, gender, gender, gender, gender, None)


def _report(widths: dict[str, tuple[float, float]], bins: list[tuple[int, float, float]]) -> DegradeReport:
    edges = [(0.0, 10.0), (10.0, 20.0), (20.0, 30.0), (30.0, 90.0)]
    return DegradeReport(
        100,
        0,
        {name: _metrics(g, m) for name, (g, m) in widths.items()},
        tuple(YawBin(lo, hi, n, m, g) for (lo, hi), (n, g, m) in zip(edges, bins, strict=True)),
    )


def test_recommend_takes_the_narrowest_width_and_widest_yaw_that_still_hold() -> None:
    report = _report(
        {
            "clean": (0.93, 5.0),
            "face_48px": (0.93, 5.1),
            "face_32px": (0.915, 5.6),
            "face_24px": (0.89, 5.9),  # 4 points down: 24 px is too small
            "face_20px": (0.92, 5.2),  # better again, but narrower than a failing width: not taken
            "face_16px": (0.80, 8.0),
        },
        [(500, 0.94, 5.0), (300, 0.93, 5.3), (80, 0.92, 5.9), (10, 0.5, 9.0)],
    )
    advice = recommend(report)
    assert advice.min_face_px == 32.0
    assert advice.max_yaw_deg == 30.0  # the 30+ bin has too few faces to judge, so the limit stops at 30
    assert "within 3 points" in advice.rule


def test_recommend_says_nothing_it_cannot_back_with_data() -> None:
    nothing = recommend(_report({"clean": (0.9, 5.0), "face_48px": (0.8, 5.0)}, [(5, 0.9, 5.0)] * 4))
    assert nothing.min_face_px is None and nothing.max_yaw_deg is None
    age_fails = recommend(_report({"clean": (0.9, 5.0), "face_48px": (0.9, 6.5)}, [(50, 0.9, 5.0)] * 4))
    assert age_fails.min_face_px is None  # gender held but age got 1.5 years worse
    assert age_fails.max_yaw_deg == 30.0  # the same figures in every bin, 30+ included: limit at 30
