"""Pure pieces of training: splits, calibration fits; and a tiny end-to-end train/export/resume (slow)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from classifier.attributes import calibration
from classifier.attributes.datasets import (
    FerSample,
    UtkSample,
    age_band,
    list_fer,
    list_utkface,
    split_fer_train,
    split_utkface,
)


def _utk_samples(n: int, seed: int = 0) -> list[UtkSample]:
    rng = np.random.default_rng(seed)
    return [UtkSample(Path(f"{i}.jpg"), int(rng.integers(1, 90)), bool(rng.integers(0, 2))) for i in range(n)]


def test_utkface_split_is_seeded_disjoint_and_stratified() -> None:
    samples = _utk_samples(4000)
    a = split_utkface(samples, seed=7)
    b = split_utkface(samples, seed=7)
    c = split_utkface(samples, seed=8)
    assert a == b and a != c
    train, cal, test = set(a.train), set(a.calibration), set(a.test)
    assert not (train & cal) and not (train & test) and not (cal & test)
    assert len(train | cal | test) == len(samples)
    assert abs(len(test) / len(samples) - 0.15) < 0.01
    # Every age band x gender stratum keeps its share in the test split.
    for band in ("child", "25-34", "65+"):
        for female in (False, True):
            members = [i for i, s in enumerate(samples) if age_band(s.age) == band and s.female == female]
            share = sum(1 for i in members if i in test) / len(members)
            assert abs(share - 0.15) < 0.05


def test_fer_calibration_split_keeps_class_shares() -> None:
    samples = [FerSample(Path(f"{i}.jpg"), i % 7 if i % 10 else 1) for i in range(2000)]
    split = split_fer_train(samples, seed=3)
    assert not split.test
    assert set(split.train).isdisjoint(split.calibration)
    cal_classes = np.bincount([samples[i].emotion for i in split.calibration], minlength=7)
    all_classes = np.bincount([s.emotion for s in samples], minlength=7)
    assert np.all(np.abs(cal_classes / len(split.calibration) - all_classes / len(samples)) < 0.02)


def test_age_bands_cover_the_snapshot_bands() -> None:
    assert [age_band(a) for a in (0, 12, 13, 17, 18, 24, 25, 44, 45, 64, 65, 99)] == [
        "child",
        "child",
        "teen",
        "teen",
        "18-24",
        "18-24",
        "25-34",
        "35-44",
        "45-54",
        "55-64",
        "65+",
        "65+",
    ]


def test_temperature_fit_recovers_a_known_overconfidence() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, size=(6000, 7))
    probs = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in probs])
    t = calibration.fit_temperature(calibration.emotion_nll, true_logits * 2.5, labels)
    assert abs(t - 2.5) < 0.25
    g_true = rng.normal(0, 3.0, size=6000)
    female = rng.random(6000) < 1 / (1 + np.exp(-g_true))
    tg = calibration.fit_temperature(calibration.gender_nll, g_true * 0.5, female)
    assert abs(tg - 0.5) < 0.08


def test_age_scale_and_ece() -> None:
    rng = np.random.default_rng(1)
    mu = rng.uniform(10, 70, 20000)
    age = mu + rng.laplace(0, 4.0, 20000)
    factor = calibration.fit_age_scale(mu, np.full_like(mu, 2.0), age)
    assert abs(factor - 2.0) < 0.1  # predicted scale 2 but the truth is 4
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.random(20000) < confidence
    assert calibration.expected_calibration_error(confidence, correct) < 0.02
    assert calibration.expected_calibration_error(np.full(1000, 0.99), np.arange(1000) % 2 == 0) > 0.4


def test_listing_skips_malformed_names_and_needs_emotion_folders(tmp_path: Path) -> None:
    utk = tmp_path / "utk"
    utk.mkdir()
    for name in ("25_1_0_2017.jpg.chip.jpg", "3_0_2_x.jpg", "61_1_.jpg", "x_1_0_y.jpg", "notes.txt"):
        (utk / name).write_bytes(b"")
    assert [(s.age, s.female) for s in list_utkface(utk)] == [(25, True), (3, False)]
    with pytest.raises(FileNotFoundError, match="no images in sub-folders"):
        list_fer(utk)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_utkface(tmp_path / "missing")


@pytest.mark.slow
def test_tiny_training_run_exports_a_loadable_model_and_resumes(tmp_path: Path) -> None:
    import torch
    from matplotlib import cbook

    from classifier.attributes import AttributeModel
    from classifier.attributes.export import export
    from classifier.attributes.training import TrainConfig, train

    face = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    utk = tmp_path / "utk"
    utk.mkdir()
    for i in range(24):
        cv2.imwrite(str(utk / f"{20 + 2 * i}_{i % 2}_0_{i:04d}.jpg"), cv2.resize(face, (100 + i, 117 + i)))
    fer = tmp_path / "fer" / "train"
    grey = cv2.resize(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY), (48, 48))
    for k, emotion in enumerate(("happy", "sad", "neutral")):
        (fer / emotion).mkdir(parents=True)
        for i in range(8):
            cv2.imwrite(str(fer / emotion / f"{i}.jpg"), np.roll(grey, i + k, axis=1))
    cfg = TrainConfig(
        utkface=utk,
        fer2013=tmp_path / "fer",
        work_dir=tmp_path / "work",
        epochs=1,
        views=2,
        fer_per_batch=4,
        utk_per_batch=4,
        warmup_steps=2,
    )
    net, result = train(cfg)
    assert (cfg.work_dir / "checkpoint.pt").is_file()
    assert result.n_utk_train > 0 and result.n_fer_train > 0
    out = export(net, result, cfg, tmp_path / "models")
    model = AttributeModel.load(tmp_path / "models")
    crops = np.zeros((2, 96, 96, 3), np.uint8)
    assert len(model.predict(crops)) == 2
    assert out.stat().st_size < 25 * 1024 * 1024
    # Resuming after the last epoch trains nothing more and gives the same weights.
    cfg2 = TrainConfig(**{**cfg.__dict__})
    net2, _ = train(cfg2, resume=True)
    for (name, a), b in zip(net.state_dict().items(), net2.state_dict().values(), strict=True):
        assert np.allclose(a.float().numpy(), b.float().numpy()), name
    # A warm start begins from the exported weights, so its frozen blocks are theirs, not ImageNet's.
    cfg3 = TrainConfig(**{**cfg.__dict__, "work_dir": tmp_path / "work3", "init": tmp_path / "models"})
    net3, _ = train(cfg3)
    for a, b in zip(model.net.frozen_parameters(), net3.frozen_parameters(), strict=True):
        assert torch.equal(a, b)


def test_warm_start_refuses_a_model_of_another_input_size() -> None:
    from classifier.attributes.network import AttributeNet
    from classifier.attributes.training import _warm_start

    models = Path(__file__).resolve().parents[2] / "models"
    with pytest.raises(ValueError, match="pass --input-size"):
        _warm_start(AttributeNet(), models, 48)


@pytest.mark.parametrize("frozen", [0, 3, 4, 5, 11])
def test_frozen_blocks_only_move_the_split_point(frozen: int) -> None:
    import torch

    from classifier.attributes.network import FROZEN_BLOCKS, AttributeNet

    torch.manual_seed(0)
    reference = AttributeNet().eval()
    net = AttributeNet(frozen_blocks=frozen).eval()
    # Same parameters whatever the split, so weights trained with any value load into the default network.
    assert list(net.state_dict()) == list(reference.state_dict())
    net.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 80, 80)
    with torch.inference_mode():
        whole = reference(x)
        split = net.from_stem(net.stem(x))
    assert torch.allclose(whole.emotion_logits, split.emotion_logits, atol=1e-5)
    assert torch.allclose(whole.age_mean, split.age_mean, atol=1e-4)
    frozen_ids = {id(p) for p in net.frozen_parameters()}
    trunk_blocks = net.trunk._blocks
    assert all(id(p) in frozen_ids for b in trunk_blocks[:frozen] for p in b.parameters())
    assert not any(id(p) in frozen_ids for b in trunk_blocks[frozen:] for p in b.parameters())
    assert AttributeNet().frozen_blocks == FROZEN_BLOCKS


def test_frozen_blocks_out_of_range_is_refused() -> None:
    from classifier.attributes.network import AttributeNet

    with pytest.raises(ValueError, match="frozen_blocks"):
        AttributeNet(frozen_blocks=12)
    with pytest.raises(ValueError, match="frozen_blocks"):
        AttributeNet(frozen_blocks=-1)


def test_emotion_label_smoothing_is_an_option() -> None:
    import torch

    from classifier.attributes.network import AttributeOutputs
    from classifier.attributes.training import TrainConfig, losses

    logits = torch.tensor([[8.0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 8.0, 0, 0, 0]])
    # Rows 0-1 are FER faces (emotion), row 2 a UTKFace face (age, gender).
    out = AttributeOutputs(
        torch.full((3,), 30.0), torch.full((3,), 3.0), torch.zeros(3), torch.cat([logits, torch.zeros(1, 7)])
    )
    args = (2, torch.tensor([30.0]), torch.tensor([1.0]), torch.tensor([0, 3]))
    _, sharp = losses(out, *args, label_smoothing=0.0)
    _, smooth = losses(out, *args, label_smoothing=0.2)
    assert smooth["emo"] > sharp["emo"]  # confident, correct logits are penalised only when smoothing
    assert TrainConfig(Path("u"), Path("f"), Path("w")).emotion_label_smoothing == 0.05


def test_model_card_states_missed_targets_from_the_recorded_figures() -> None:
    from classifier.attributes.model_card import render

    group = {"n": 10, "age_mae": 4.0, "gender_accuracy": 0.95}
    test = {
        "age_mae": 4.5,
        "gender_accuracy": 0.95,
        "emotion_accuracy": 0.60,
        "n_utkface": 20,
        "n_fer2013": 7,
        "ms_per_face": 2.0,
        "by_age_band": {"child": {**group, "gender_accuracy": 0.7}, "65+": {**group, "age_mae": 9.5}},
        "by_gender": {"female": group, "male": {**group, "gender_accuracy": 0.945}},
        "by_emotion": {"happy": {"n": 7, "recall": 0.6}},
    }
    entry = {
        "file": "f.pt",
        "sha256": "0" * 64,
        "input": {"size_px": 96, "crop": "c"},
        "training": {"epochs": 3, "frozen_blocks": 4, "commands": ["signage train --epochs 3"]},
        "metrics": {
            "calibration_split": {"age_mae": 5.0, "gender_accuracy": 0.9, "emotion_accuracy": 0.6},
            "held_out_test": test,
        },
    }
    card = render(entry)
    assert "**It misses children's gender, emotion accuracy, gender at 32 px**" in card
    assert "No store-camera figures yet" in card
    cond = {"age_mae": 5.0, "gender_accuracy": 0.93, "gender_accuracy_child": 0.7, "emotion_accuracy": 0.6}
    entry["metrics"]["held_out_degraded"] = {  # type: ignore[index]
        "command": "signage evaluate --degrade",
        "conditions": {
            "clean": cond,
            "face_32px": {**cond, "gender_accuracy": 0.89},
            "face_48px": {**cond, "gender_accuracy": 0.91},
        },
        "by_yaw": [{"low_deg": 0.0, "high_deg": 10.0, "n": 12, "age_mae": 4.0, "gender_accuracy": 0.95}],
        "n_no_yaw": 1,
        "recommendation": {"min_face_px": 32.0, "max_yaw_deg": 20.0, "rule": "r"},
    }
    card = render(entry)
    assert "**It misses children's gender, emotion accuracy**" in card  # 89 % at 32 px meets 88 %
    assert "| 0-10 deg | 12 | 4.00 | 95.0 % |" in card
    assert "at least 32.0 px wide" in card and "at most 20.0 degrees" in card
    # 1080p, 60 degrees, 16 cm: 266 px at 1 m (clean figures), 89 px at 3 m and 53 px at 5 m (48 px figures).
    assert "| 1 m | 266 px | clean |" in card
    assert "| 3 m | 89 px | 48 px | 5.00 | 91.0 % |" in card and "| 5 m | 53 px | 48 px |" in card
    assert "first 4 EfficientNet blocks are frozen" in card and "96 px crops, 3 epochs" in card
    assert "Trained with (seeded):" in card
    assert "gender accuracy is 70.0 %" in card


def test_a_soup_averages_float_weights_and_keeps_integer_buffers() -> None:
    import torch

    from classifier.attributes.soup import average_state

    a = {"w": torch.tensor([1.0, 2.0]), "bn.num_batches_tracked": torch.tensor(7)}
    b = {"w": torch.tensor([3.0, 6.0]), "bn.num_batches_tracked": torch.tensor(9)}
    soup = average_state([a, b])
    assert torch.equal(soup["w"], torch.tensor([2.0, 4.0]))
    assert int(soup["bn.num_batches_tracked"]) == 7
    with pytest.raises(ValueError, match="one architecture"):
        average_state([a, {"v": torch.tensor([1.0])}])
    with pytest.raises(ValueError, match="at least one"):
        average_state([])
