"""``signage evaluate --degrade``: named store-camera conditions over held-out faces."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from classifier.attributes.degrade import CONDITIONS, degrade_crops

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
    bad = runner.invoke(app, [*base, "--degrade", "--conditions", "clean,fog"])
    assert bad.exit_code == 2 and "unknown condition 'fog'" in bad.output
