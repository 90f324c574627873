"""Online-augmentation training: exact resume from the per-epoch checkpoint, candidate export, batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.attributes import checkpoint
from classifier.attributes.network import AttributeNet
from classifier.attributes.online import EpochBatches, batch_seed, train_online
from classifier.attributes.training import (
    SplitMetrics,
    TrainConfig,
    TrainData,
    new_network,
    selection_score,
)

SIZE = 32  # tiny crops keep a step of the full network in milliseconds


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: tiny batches gain nothing from more, and a busy machine makes them wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(seed: int = 0) -> TrainData:
    rng = np.random.default_rng(seed)

    def crops(n: int) -> np.ndarray:
        return rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)

    return TrainData(
        utk_train=crops(12),
        age_train=rng.uniform(1, 80, 12).astype(np.float32),
        female_train=(rng.random(12) < 0.5).astype(np.float32),
        utk_cal=crops(6),
        age_cal=rng.uniform(1, 80, 6).astype(np.float32),
        female_cal=np.array([0, 1, 0, 1, 0, 1], np.float32),
        fer_train=crops(16),
        emotion_train=rng.integers(0, 7, 16),
        fer_cal=crops(7),
        emotion_cal=np.arange(7),
    )


def _cfg(work: Path, **changes: object) -> TrainConfig:
    cfg = TrainConfig(
        utkface=Path("unused"),
        fer2013=Path("unused"),
        work_dir=work,
        epochs=2,
        input_size=SIZE,
        frozen_blocks=0,
        online_augment=True,
        fer_per_batch=4,
        utk_per_batch=4,
        warmup_steps=2,
        loader_workers=0,
        threads=1,
    )
    return replace(cfg, **changes)  # type: ignore[arg-type]


def _fresh(cfg: TrainConfig) -> AttributeNet:
    torch.manual_seed(cfg.seed)  # the heads start random: the same start for every run
    return new_network(cfg)


def test_two_epochs_equal_one_then_resume_one(tmp_path: Path) -> None:
    data = _data()
    straight = _cfg(tmp_path / "a")
    net_a, result_a = train_online(straight, data, _fresh(straight))
    chunked = _cfg(tmp_path / "b")
    seen: list[int] = []
    _, first = train_online(
        chunked, data, _fresh(chunked), max_new_epochs=1, on_best=lambda _net, r: seen.append(r.epochs)
    )
    assert first.epochs == 1 and seen == [1]  # a fresh run has no bar to clear: epoch 1 is the best so far
    state = checkpoint.peek(chunked.work_dir / checkpoint.CHECKPOINT_NAME)
    assert state.epoch == 0 and state.epochs == 2 and state.best_epoch == 1
    assert [h["epoch"] for h in state.history] == [0, 1]  # the starting weights, then epoch 1
    net_b, result_b = train_online(chunked, data, _fresh(chunked), resume=True)
    assert result_b.epochs == result_a.epochs == 2
    for (name, a), b in zip(net_a.state_dict().items(), net_b.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    # The stem convolution trains too when nothing is frozen.
    start = _fresh(straight)
    assert not torch.equal(start.trunk._conv_stem.weight, net_a.trunk._conv_stem.weight)


def test_resume_refuses_another_schedule_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    data = _data()
    cfg = _cfg(tmp_path, epochs=2)
    train_online(cfg, data, _fresh(cfg), max_new_epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint.CHECKPOINT_NAME]
    with pytest.raises(ValueError, match="--epochs 2"):
        longer = replace(cfg, epochs=3)
        train_online(longer, data, _fresh(longer), resume=True)


def test_a_warm_start_must_beat_its_starting_weights(tmp_path: Path) -> None:
    """With --init, the starting weights' score is the bar; an untrained net cannot lose to itself."""
    data = _data()
    cfg = _cfg(tmp_path, epochs=1, lr=0.0, head_lr=0.0, init=Path("unused"))
    calls: list[int] = []
    # lr 0: the weights cannot change, so epoch 1 scores at most the start (only batch-norm statistics move).
    net = _fresh(replace(cfg, init=None))
    train_online(cfg, data, net.eval(), on_best=lambda _n, r: calls.append(r.epochs))
    state = checkpoint.peek(cfg.work_dir / checkpoint.CHECKPOINT_NAME)
    start_score = state.history[0]["score"]
    assert state.best_score >= start_score
    assert (calls == [1]) == (state.history[1]["score"] > start_score)


def test_batches_are_the_same_in_a_worker_process_and_inline(tmp_path: Path) -> None:
    data = _data()
    cfg = _cfg(tmp_path, loader_workers=1)
    batches = EpochBatches(data, cfg, epoch=3, steps=4)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=1)
    for step, (x, fi, ui) in enumerate(loader):
        x0, fi0, ui0 = batches[step]
        assert torch.equal(x, x0) and torch.equal(fi, fi0) and torch.equal(ui, ui0)
        assert x.shape == (8, 3, SIZE, SIZE)
    other_epoch = EpochBatches(data, cfg, epoch=4, steps=4)
    assert not torch.equal(other_epoch[0][0], batches[0][0])
    assert len({batch_seed(1, e, s) for e in range(3) for s in range(-1, 3)}) == 12


def test_selection_score_weighs_accuracy_against_mae() -> None:
    base = SplitMetrics(age_mae=5.0, gender_accuracy=0.92, emotion_accuracy=0.63)
    assert selection_score(base) == pytest.approx(92 + 63 - 25)
    assert selection_score(replace(base, gender_accuracy=0.93)) > selection_score(base)
    assert selection_score(replace(base, age_mae=4.8)) == pytest.approx(selection_score(base) + 1.0)


def test_candidate_export_replaces_the_whole_folder(tmp_path: Path) -> None:
    from classifier.attributes import AttributeModel
    from classifier.attributes.export import export_candidate
    from classifier.attributes.manifest import read_manifest
    from classifier.attributes.model import Calibration
    from classifier.attributes.training import TrainResult

    cfg = _cfg(tmp_path / "work")
    net = _fresh(cfg)
    best = tmp_path / "best"
    metrics = SplitMetrics(age_mae=6.0, gender_accuracy=0.9, emotion_accuracy=0.6)
    for epoch in (1, 3):
        result = TrainResult(Calibration(gender_temperature=1.5), metrics, 12, 6, 16, 7, epoch)
        export_candidate(net, result, cfg, best, ["signage train --online-augment"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no .new / .old left behind
    assert sorted(p.name for p in best.iterdir()) == ["MODEL_CARD.md", "face_attributes.pt", "manifest.yaml"]
    entry = read_manifest(best)["models"]["face_attributes"]
    assert entry["training"]["epochs"] == 3 and entry["training"]["recipe"].startswith("online")
    assert entry["metrics"]["calibration_split"]["selection_score"] == pytest.approx(selection_score(metrics))
    assert "every block fine-tuned" in entry["architecture"]
    assert (
        "every EfficientNet block fine-tuned on crops augmented afresh"
        in (best / "MODEL_CARD.md").read_text()
    )
    model = AttributeModel.load(best)
    assert model.calibration.gender_temperature == 1.5 and model.input_size == SIZE
