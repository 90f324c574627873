"""The attribute model as the runtime sees it: verified loading, calibrated batched predictions on real
photos that ship in dependencies, and `signage evaluate` on a fixture made here."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from typer.testing import CliRunner

from classifier.attributes import AttributeModel, ModelError
from classifier.attributes.network import EMOTIONS
from classifier.crop import CROP_SIZE, FaceCropper

REPO = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("SIGNAGE_MODELS_DIR", REPO / "models"))


def _grace_hopper() -> np.ndarray:
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="module")
def model() -> AttributeModel:
    return AttributeModel.load(MODELS)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    cropper = FaceCropper()
    try:
        return np.stack([cropper(_grace_hopper())[0], cropper(_astronaut())[0]])
    finally:
        cropper.close()


def test_grace_hopper_is_older(model: AttributeModel, crops: np.ndarray) -> None:
    hopper = model.predict(crops[:1])[0]
    assert hopper.age_years > 45  # she was 79 in the photo; allow for the model's error
    assert 1.0 < hopper.age_std_years < 30.0


# The committed weights call her male (P(female) 0.07, age 82; the 64 px weights 0.45) in uniform and
# glasses. Strict, so that the marker must go as soon as a retrained model gets her right.
@pytest.mark.xfail(strict=True, reason="current weights: P(female) 0.07 for grace_hopper (see MODEL_CARD.md)")
def test_grace_hopper_is_a_woman(model: AttributeModel, crops: np.ndarray) -> None:
    assert model.predict(crops[:1])[0].p_female > 0.5


def test_astronaut_age_is_plausible(model: AttributeModel, crops: np.ndarray) -> None:
    # Eileen Collins, in her late 30s.
    collins = model.predict(crops[1:])[0]
    assert 20 < collins.age_years < 60


# Fully fine-tuned with online augmentation (held-out gender 93.1 %), the weights get her right.
def test_astronaut_is_a_woman(model: AttributeModel, crops: np.ndarray) -> None:
    assert model.predict(crops[1:])[0].p_female > 0.5


def test_predictions_are_batched_probabilities_and_deterministic(
    model: AttributeModel, crops: np.ndarray
) -> None:
    batch = np.concatenate([crops, crops[:, :, ::-1]])  # plus mirrored faces
    out = model.predict(batch)
    assert len(out) == 4
    for attrs in out:
        assert len(attrs.emotion_probs) == len(EMOTIONS)
        assert abs(sum(attrs.emotion_probs) - 1.0) < 1e-5
        assert 0.0 <= attrs.p_female <= 1.0
    # Batching does not change an answer; mirroring changes it only a little.
    single = model.predict(crops[:1])[0]
    assert abs(single.age_years - out[0].age_years) < 1e-3
    assert abs(out[0].age_years - out[2].age_years) < 10
    assert model.predict(crops[:0]) == []


def test_other_crop_sizes_are_resized(model: AttributeModel, crops: np.ndarray) -> None:
    bigger = np.stack([cv2.resize(c, (CROP_SIZE * 2, CROP_SIZE * 2)) for c in crops])
    a, b = model.predict(crops)[0], model.predict(bigger)[0]
    assert abs(a.age_years - b.age_years) < 8
    with pytest.raises(ValueError, match="N x S x S x 3"):
        model.predict(np.zeros((2, 96, 96), np.uint8))


def _copy_models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(MODELS, target)
    return target


def _one_sentence(message: str) -> bool:
    return message.endswith(".") and message.count(". ") == 0 and "\n" not in message


def test_missing_weights_stop_loading_with_one_sentence(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    (models / "face_attributes.pt").unlink()
    with pytest.raises(ModelError) as info:
        AttributeModel.load(models)
    message = str(info.value)
    assert "face_attributes.pt" in message and "missing" in message
    assert _one_sentence(message)


def test_corrupt_weights_are_caught_by_the_sha256(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    weights = models / "face_attributes.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        AttributeModel.load(models)
    message = str(info.value)
    assert "face_attributes.pt" in message and "sha256" in message
    assert _one_sentence(message)


def test_missing_manifest_is_named(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    (models / "manifest.yaml").unlink()
    with pytest.raises(ModelError, match=r"manifest\.yaml is missing\.$"):
        AttributeModel.load(models)


def test_truncated_file_with_matching_manifest_is_unloadable(tmp_path: Path) -> None:
    from classifier.attributes.manifest import ENTRY_NAME, read_manifest, sha256_of, write_entry

    models = _copy_models(tmp_path)
    weights = models / "face_attributes.pt"
    weights.write_bytes(weights.read_bytes()[:1000])
    entry = dict(read_manifest(models)["models"][ENTRY_NAME])
    entry["sha256"] = sha256_of(weights)
    write_entry(models, ENTRY_NAME, entry)
    with pytest.raises(ModelError, match="could not be loaded") as info:
        AttributeModel.load(models)
    assert _one_sentence(str(info.value))


def _fixture(tmp_path: Path) -> tuple[Path, Path]:
    """A few renamed real faces in UTKFace naming, and grey 48x48 copies in FER folders."""
    utk = tmp_path / "utk"
    fer = tmp_path / "fer"
    utk.mkdir()
    hopper, astronaut = _grace_hopper(), _astronaut()
    for name, image in (
        ("79_1_0_20170101000000001.jpg.chip.jpg", hopper),
        ("38_1_0_20170101000000002.jpg.chip.jpg", astronaut),
        ("79_1_0_20170101000000003.jpg.chip.jpg", hopper[:, ::-1]),
        ("bad_name.jpg", astronaut),
    ):
        cv2.imwrite(str(utk / name), image[:, :, ::-1])
    for emotion, image in (("happy", astronaut), ("neutral", hopper), ("sad", hopper[:, ::-1])):
        (fer / emotion).mkdir(parents=True)
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        cv2.imwrite(str(fer / emotion / "0.jpg"), cv2.resize(grey, (48, 48), interpolation=cv2.INTER_AREA))
    return utk, fer


@pytest.mark.slow  # detection, inference, timing and six matplotlib charts: 4-8 s here
def test_evaluate_command_prints_the_json_the_issue_asks_for(tmp_path: Path) -> None:
    from signage.cli import app

    utk, fer = _fixture(tmp_path)
    plots = tmp_path / "plots"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--utkface",
            str(utk),
            "--fer2013",
            str(fer),
            "--json",
            "--plots",
            str(plots),
            "--models",
            str(MODELS),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    for key in (
        "age_mae",
        "gender_accuracy",
        "emotion_accuracy",
        "n_utkface",
        "n_fer2013",
        "ms_per_face",
        "by_age_band",
        "by_gender",
    ):
        assert key in report
    assert report["n_utkface"] == 3  # the malformed name is skipped
    assert report["n_fer2013"] == 3
    assert 0.0 <= report["gender_accuracy"] <= 1.0 and 0.0 <= report["emotion_accuracy"] <= 1.0
    assert report["by_gender"]["female"]["n"] == 3 and report["by_gender"]["male"]["n"] == 0
    assert report["by_age_band"]["65+"]["n"] == 2
    assert report["ms_per_face"] > 0
    names = {p.name for p in plots.iterdir()}
    assert {
        "emotion_confusion.png",
        "gender_confusion.png",
        "fairness_age_mae.png",
        "fairness_gender_accuracy.png",
        "fairness_emotion_recall.png",
    } <= names


def test_evaluate_with_one_dataset_and_bad_folders(tmp_path: Path) -> None:
    from signage.cli import app

    utk, _fer = _fixture(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--utkface", str(utk), "--json", "--models", str(MODELS)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["emotion_accuracy"] is None and report["n_fer2013"] == 0
    missing = runner.invoke(app, ["evaluate", "--fer2013", str(tmp_path / "nope"), "--models", str(MODELS)])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    neither = runner.invoke(app, ["evaluate", "--models", str(MODELS)])
    assert neither.exit_code == 2
