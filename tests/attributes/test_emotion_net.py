"""The separate grey emotion network: input path, folding, augmentation, checkpoint, and a tiny train run."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from classifier.attributes.calibration import emotion_nll, fit_temperature
from classifier.attributes.emotion_net import (
    EMOTION_INPUT,
    EmotionModel,
    EmotionNet,
    augment_grey,
    fold,
    grey_input,
    save_emotion_net,
    to_tensor,
)
from classifier.attributes.emotion_train import lr_at
from classifier.attributes.metrics import softmax


def _crops(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)


def _trained_bn(net: EmotionNet) -> EmotionNet:
    """Give every BatchNorm non-trivial statistics and affine parameters, as training would."""
    gen = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
    return net.eval()


def test_grey_input_is_luminance_shrunk_like_the_run_time() -> None:
    crops = _crops(3)
    grey = grey_input(crops)
    assert grey.shape == (3, EMOTION_INPUT, EMOTION_INPUT) and grey.dtype == np.uint8
    expected = cv2.resize(cv2.cvtColor(crops[1], cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA)
    assert np.array_equal(grey[1], expected)
    # A grey face (three equal channels, as FER's files are) keeps its values.
    flat = np.full((1, 96, 96, 3), 77, np.uint8)
    assert np.all(grey_input(flat) == 77)
    with pytest.raises(ValueError, match="N x S x S x 3"):
        grey_input(crops[:, :, :, 0])


def test_network_gives_seven_logits_and_refuses_bad_widths() -> None:
    net = EmotionNet().eval()
    out = net(to_tensor(grey_input(_crops(2))))
    assert out.shape == (2, 7)
    with pytest.raises(ValueError, match="four positive widths"):
        EmotionNet((8, 16, 32))


def test_folded_copy_gives_the_same_logits() -> None:
    net = _trained_bn(EmotionNet((8, 16, 16, 32)))
    x = to_tensor(grey_input(_crops(4)))
    folded = fold(net)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.inference_mode():
        assert torch.allclose(net(x), folded(x), atol=1e-4)


def test_augmentation_is_seeded_and_neutral_settings_only_flip() -> None:
    x = torch.randn(16, 1, 48, 48)
    a = augment_grey(x, torch.Generator().manual_seed(5))
    b = augment_grey(x, torch.Generator().manual_seed(5))
    c = augment_grey(x, torch.Generator().manual_seed(6))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    neutral = augment_grey(
        x,
        torch.Generator().manual_seed(5),
        max_rotate_deg=0.0,
        scale=(1.0, 1.0),
        max_shift=0.0,
        brightness=0.0,
        contrast=(1.0, 1.0),
        erase_p=0.0,
    )
    flipped = torch.flip(x, dims=[3])
    same = torch.isclose(neutral, x, atol=1e-4).flatten(1).all(1)
    mirrored = torch.isclose(neutral, flipped, atol=1e-4).flatten(1).all(1)
    assert torch.all(same | mirrored)
    assert 0 < int(mirrored.sum()) < 16  # about half the faces are flipped


def test_erasing_replaces_a_rectangle() -> None:
    x = torch.full((8, 1, 48, 48), 3.0)
    out = augment_grey(
        x,
        torch.Generator().manual_seed(0),
        max_rotate_deg=0.0,
        scale=(1.0, 1.0),
        max_shift=0.0,
        brightness=0.0,
        contrast=(1.0, 1.0),
        erase_p=1.0,
        erase_area=(0.1, 0.1),
    )
    changed = (out != 3.0).flatten(1).float().mean(1)
    assert torch.all(changed > 0.05) and torch.all(changed < 0.15)


def test_checkpoint_round_trip_in_fp16(tmp_path: Path) -> None:
    net = _trained_bn(EmotionNet((8, 16, 16, 32)))
    path = tmp_path / "emotion.pt"
    save_emotion_net(path, net, temperature=1.7, meta={"note": "test"})
    blob = torch.load(path, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float16 for v in blob["state_dict"].values() if v.is_floating_point())
    model = EmotionModel.load(path)
    assert model.temperature == pytest.approx(1.7)
    crops = _crops(3, seed=2)
    probs = model.probs(crops)
    assert probs.shape == (3, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    reference = EmotionModel(net, 1.7).probs(crops)
    assert np.allclose(probs, reference, atol=2e-2)


def test_checkpoint_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"format": 99, "emotions": ["a"], "state_dict": {}}, path)
    with pytest.raises(ValueError, match="not an emotion-network checkpoint"):
        EmotionModel.load(path)


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    assert lr_at(0, 1000, 1.0, 100) == pytest.approx(0.01)
    assert lr_at(99, 1000, 1.0, 100) == pytest.approx(1.0)
    assert lr_at(550, 1000, 1.0, 100) == pytest.approx(0.5)
    assert lr_at(1000, 1000, 1.0, 100) == pytest.approx(0.0, abs=1e-12)


def test_temperature_fit_recovers_an_overconfidence_of_two() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (4000, 7))
    labels = np.array([rng.choice(7, p=p) for p in softmax(logits)])
    assert fit_temperature(emotion_nll, 2.0 * logits, labels) == pytest.approx(2.0, rel=0.1)


@pytest.mark.slow
def test_tiny_training_run_saves_loadable_weights_and_resumes(tmp_path: Path) -> None:
    from matplotlib import cbook

    from classifier.attributes.emotion_train import EmotionTrainConfig, train

    face = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.IMREAD_COLOR)
    grey = cv2.resize(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY), (48, 48))
    fer = tmp_path / "fer" / "train"
    for k, emotion in enumerate(("happy", "sad", "neutral")):
        (fer / emotion).mkdir(parents=True)
        for i in range(20):
            cv2.imwrite(str(fer / emotion / f"{i}.jpg"), np.roll(grey, i + k, axis=1))
    cfg = EmotionTrainConfig(
        fer2013=tmp_path / "fer",
        work_dir=tmp_path / "work",
        out=tmp_path / "emotion.pt",
        epochs=1,
        batch=8,
        warmup_steps=2,
        widths=(8, 8, 16, 16),
        threads=1,
    )
    meta = train(cfg)
    assert (tmp_path / "work" / "emotion_ckpt.pt").is_file()
    assert [row["epoch"] for row in meta["history"]] == [1]
    assert meta["n_train"] + meta["n_calibration"] == 60 and meta["n_calibration"] == 3
    model = EmotionModel.load(cfg.out)
    assert math.isfinite(model.temperature) and model.temperature > 0
    crops = np.repeat(cv2.resize(face, (96, 96))[None, :, :, ::-1], 2, axis=0)
    assert model.probs(np.ascontiguousarray(crops)).shape == (2, 7)
    # Two epochs with resume: epoch 1 is read back from the checkpoint, only epoch 2 runs.
    resumed = train(EmotionTrainConfig(**{**cfg.__dict__, "epochs": 2, "resume": True}))
    assert [row["epoch"] for row in resumed["history"]] == [1, 2]
    assert resumed["history"][0] == meta["history"][0]
