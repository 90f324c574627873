"""The shipped emotion network is blended into the attribute model's emotion, as its manifest says."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from classifier.attributes import AttributeModel, ModelError
from classifier.attributes.emotion_net import EmotionModel
from classifier.attributes.manifest import EMOTION_ENTRY, read_manifest, sha256_of, write_entry

REPO = Path(__file__).resolve().parents[2]
MODELS = Path(os.environ.get("SIGNAGE_MODELS_DIR", REPO / "models"))


def _crops(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def model() -> AttributeModel:
    return AttributeModel.load(MODELS)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(MODELS, target)
    return target


def test_the_manifest_network_is_blended_with_its_weight(model: AttributeModel) -> None:
    entry = read_manifest(MODELS)["models"][EMOTION_ENTRY]
    assert model.emotion_net is not None
    assert model.emotion_net_weight == pytest.approx(entry["ensemble_weight"])
    crops = _crops()
    blended = np.array([a.emotion_probs for a in model.predict(crops)])
    own = np.array([a.emotion_probs for a in model.network_only().predict(crops)])
    net = model.emotion_net.probs(crops)
    w, t = model.emotion_net_weight, model.blend_temperature
    assert t == pytest.approx(entry.get("blend_temperature", 1.0))
    z = np.log((1 - w) * own + w * net + 1e-9) / t
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(blended, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    np.testing.assert_array_equal(blended.argmax(1), ((1 - w) * own + w * net).argmax(1))
    np.testing.assert_allclose(blended.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(blended, own, atol=1e-3)  # the network does change the answer
    # Age and gender come from the attribute network alone.
    for a, b in zip(model.predict(crops), model.network_only().predict(crops), strict=True):
        assert a.age_years == pytest.approx(b.age_years) and a.p_female == pytest.approx(b.p_female)


def test_without_an_entry_the_attribute_network_answers_alone(tmp_path: Path) -> None:
    models = _copy(tmp_path)
    manifest = read_manifest(models)
    manifest["models"].pop(EMOTION_ENTRY)
    (models / "manifest.yaml").write_text("")
    for name, entry in manifest["models"].items():
        write_entry(models, name, entry)
    (models / "face_emotion.pt").unlink()
    loaded = AttributeModel.load(models)
    assert loaded.emotion_net is None and loaded.emotion_net_weight == 0.0


def test_a_corrupt_emotion_network_stops_loading_with_one_sentence(tmp_path: Path) -> None:
    models = _copy(tmp_path)
    weights = models / "face_emotion.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"face_emotion\.pt") as info:
        AttributeModel.load(models)
    assert "sha256" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ensemble_weight", 1.5),
        ("ensemble_weight", "half"),
        ("ensemble_weight", None),
        ("blend_temperature", 0.0),
    ],
)
def test_an_unusable_blend_weight_is_named(tmp_path: Path, key: str, value: object) -> None:
    models = _copy(tmp_path)
    entry = dict(read_manifest(models)["models"][EMOTION_ENTRY])
    entry[key] = value
    entry["sha256"] = sha256_of(models / "face_emotion.pt")
    write_entry(models, EMOTION_ENTRY, entry)
    with pytest.raises(ModelError, match=key):
        AttributeModel.load(models)


def test_the_blend_weight_is_checked_when_built_by_hand(model: AttributeModel) -> None:
    assert isinstance(model.emotion_net, EmotionModel)
    with pytest.raises(ValueError, match="emotion_net_weight"):
        AttributeModel(model.net, model.calibration, model.input_size, model.emotion_net, 2.0)
    with pytest.raises(ValueError, match="blend_temperature"):
        AttributeModel(model.net, model.calibration, model.input_size, model.emotion_net, 0.4, -1.0)


def test_ship_pins_a_network_and_its_calibration_chosen_weight(tmp_path: Path) -> None:
    from classifier.attributes.emotion_eval import ship
    from classifier.attributes.emotion_net import EmotionNet, save_emotion_net

    models = _copy(tmp_path)
    weights = tmp_path / "new.pt"
    save_emotion_net(weights, EmotionNet(), 1.3, {"note": "untrained"})
    report = {
        "n_test": 10,
        "parameters": 1,
        "calibration": {
            "emotion_net": 0.5,
            "shipped_model": 0.6,
            "ensemble": 0.62,
            "ensemble_weight_of_emotion_net": 0.25,
            "blend_temperature": 0.8,
        },
        "test_publictest": {"emotion_net": 0.4, "shipped_model": 0.5, "ensemble": 0.55},
        "ms_per_face_batch3_one_thread": {"emotion_net_wall": 0.7},
    }
    entry = ship(weights, report, models, ["train ..."])
    assert entry["sha256"] == sha256_of(models / "face_emotion.pt") == sha256_of(weights)
    loaded = AttributeModel.load(models)
    assert loaded.emotion_net_weight == 0.25 and loaded.blend_temperature == pytest.approx(0.8)
    assert loaded.emotion_net is not None and loaded.emotion_net.temperature == pytest.approx(1.3)
    assert (
        read_manifest(models)["models"]["face_attributes"]
        == read_manifest(MODELS)["models"]["face_attributes"]
    )


def test_the_model_card_describes_the_blended_network() -> None:
    from classifier.attributes.model_card import render

    models = read_manifest(MODELS)["models"]
    emotion = models[EMOTION_ENTRY]
    card = render(models["face_attributes"], emotion)
    assert "## Emotion network (blended in)" in card and emotion["sha256"] in card
    assert f"weight {emotion['ensemble_weight']:.2f} on this network," in card
    assert "## Emotion network" not in render(models["face_attributes"])


def test_with_emotion_off_the_emotion_network_is_neither_loaded_nor_run() -> None:
    from signage.audience.factory import load_attribute_model

    off = load_attribute_model(MODELS, estimate_emotion=False)
    assert off.emotion_net is None and off.emotion_net_weight == 0.0
    assert load_attribute_model(MODELS).emotion_net is not None
