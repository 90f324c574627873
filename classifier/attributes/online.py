"""Online-augmentation training: the network fine-tunes on crops augmented afresh in every batch.

The decoded crops stay in RAM as uint8 (about 1.3 GB for both datasets at 96 px); each batch is cut from them
and augmented in torch (``augment.augment_batch``: geometry, colour, store-camera degradations, erasing) by a
DataLoader worker while the training process runs the previous step. Batch ``k`` of epoch ``e`` is drawn
from the epoch's seeded order and augmented with a generator seeded by ``(seed, e, k)``, and dropout is
reseeded per epoch, so a run resumed from its checkpoint makes exactly the same steps as one that never
stopped. After every epoch the model is scored on the calibration split (never the held-out test split); a
model that beats the best so far (``training.selection_score``; a warm start must beat its starting weights)
is handed to ``on_best``, which exports it as a candidate models folder.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from classifier.attributes import checkpoint
from classifier.attributes.augment import AugmentConfig, CameraParams, augment_batch, render_camera, to_batch
from classifier.attributes.model import Calibration
from classifier.attributes.network import EMOTIONS, AttributeNet
from classifier.attributes.training import (
    SplitMetrics,
    TrainConfig,
    TrainData,
    TrainResult,
    fit_calibration,
    losses,
    lr_factor,
    new_optimizer,
    resume_state,
    selection_score,
)
from classifier.backbone import INPUT_MEAN, INPUT_SCALE

log = logging.getLogger(__name__)

LOG_EVERY_STEPS = 50
DEGRADED_FACE_PX = 32  # the store-camera gender target is judged at this face width


def batch_seed(seed: int, epoch: int, step: int) -> int:
    """A 63-bit seed for one batch (step -1: the epoch's own seed, used for dropout)."""
    return int(
        np.random.SeedSequence([seed, epoch, step + 1]).generate_state(2, np.uint64)[0] >> np.uint64(1)
    )


class EpochBatches(Dataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Batch ``step`` of one epoch: normalised images (FER rows first, then UTKFace) and the rows' indices."""

    def __init__(
        self, data: TrainData, cfg: TrainConfig, epoch: int, steps: int, augment: AugmentConfig | None = None
    ) -> None:
        self.fer = torch.from_numpy(data.fer_train)  # shares the arrays' memory (and a forked worker's pages)
        self.utk = torch.from_numpy(data.utk_train)
        self.cfg, self.epoch, self.steps = cfg, epoch, steps
        self.augment = augment or AugmentConfig(strength=cfg.augment_strength)
        rng = np.random.default_rng([cfg.seed, epoch])
        n_fer, n_utk = len(data.fer_train), len(data.utk_train)
        self.fer_order = rng.permutation(n_fer)
        repeats = 1 + steps * cfg.utk_per_batch // max(1, n_utk)
        self.utk_order = np.concatenate([rng.permutation(n_utk) for _ in range(repeats)])

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not 0 <= step < self.steps:
            raise IndexError(step)
        cfg = self.cfg
        fi = torch.from_numpy(self.fer_order[step * cfg.fer_per_batch : (step + 1) * cfg.fer_per_batch])
        ui = torch.from_numpy(self.utk_order[step * cfg.utk_per_batch : (step + 1) * cfg.utk_per_batch])
        g = torch.Generator().manual_seed(batch_seed(cfg.seed, self.epoch, step))
        x = augment_batch(to_batch(torch.cat([self.fer[fi], self.utk[ui]])), self.augment, g)
        return (x - INPUT_MEAN) / INPUT_SCALE, fi, ui


def _train_mode(net: AttributeNet) -> None:
    """Training mode, except the frozen first blocks, whose batch-norm statistics must not drift either."""
    net.train()
    t = net.trunk
    if net.frozen_blocks:  # the stem convolution is frozen with them
        for module in (t._conv_stem, t._bn0, *t._blocks[: net.frozen_blocks]):
            module.eval()


def predict_crops(net: AttributeNet, crops: torch.Tensor, batch: int = 256) -> tuple[np.ndarray, ...]:
    """Raw outputs (age mean, Laplace scale, gender logit, emotion logits) for float 0..255 NCHW crops."""
    net.eval()
    parts: list[list[np.ndarray]] = [[], [], [], []]
    with torch.inference_mode():
        for start in range(0, len(crops), batch):
            x = ((crops[start : start + batch] - INPUT_MEAN) / INPUT_SCALE).contiguous(
                memory_format=torch.channels_last
            )
            o = net(x)
            for part, t in zip(
                parts, (o.age_mean, o.age_scale, o.gender_logit, o.emotion_logits), strict=True
            ):
                part.append(t.numpy())
    if not parts[0]:
        return np.empty(0), np.empty(0), np.empty(0), np.empty((0, len(EMOTIONS)))
    return tuple(np.concatenate(p) for p in parts)


def evaluate_split(net: AttributeNet, data: TrainData) -> tuple[SplitMetrics, Calibration, float | None]:
    """Calibration-split metrics, the calibration fitted on it, and gender accuracy at 32 px face width."""
    if len(data.utk_cal) == 0 or len(data.fer_cal) == 0:
        return SplitMetrics(float("nan"), float("nan"), float("nan")), Calibration(), None
    utk = to_batch(data.utk_cal)
    mu, b, g, _ = predict_crops(net, utk)
    _, _, _, e = predict_crops(net, to_batch(data.fer_cal))
    metrics = SplitMetrics(
        age_mae=float(np.mean(np.abs(np.clip(mu, 0, 100) - data.age_cal))),
        gender_accuracy=float(np.mean((g > 0) == (data.female_cal > 0.5))),
        emotion_accuracy=float(np.mean(e.argmax(axis=1) == data.emotion_cal)),
    )
    params = CameraParams.neutral(len(utk))
    small = CameraParams(**{**params.__dict__, "face_px": torch.full((len(utk),), float(DEGRADED_FACE_PX))})
    _, _, g32, _ = predict_crops(net, render_camera(utk, small))
    gender32 = float(np.mean((g32 > 0) == (data.female_cal > 0.5)))
    return metrics, fit_calibration(mu, b, g, e, data), gender32


def _figures(m: SplitMetrics, gender32: float | None) -> str:
    g32 = "-" if gender32 is None else f"{100 * gender32:.2f}%"
    return (
        f"age MAE {m.age_mae:.3f}, gender {100 * m.gender_accuracy:.2f}%, emotion "
        f"{100 * m.emotion_accuracy:.2f}%, gender@{DEGRADED_FACE_PX}px {g32}, score {selection_score(m):.2f}"
    )


def train_online(
    cfg: TrainConfig,
    data: TrainData,
    net: AttributeNet,
    resume: bool = False,
    on_best: Callable[[AttributeNet, TrainResult], None] | None = None,
    max_new_epochs: int | None = None,
) -> tuple[AttributeNet, TrainResult]:
    """Train (or resume) up to ``cfg.epochs``; ``max_new_epochs`` stops this call earlier, as a chunk of
    compute that the next ``resume`` continues."""
    if net.frozen_blocks == 0:  # nothing frozen: the stem convolution trains too (the cached recipe keeps it)
        for p in net.frozen_parameters():
            p.requires_grad_(True)
    optimizer = new_optimizer(net, cfg)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    steps = len(data.fer_train) // cfg.fer_per_batch
    if steps == 0:
        raise ValueError(f"{len(data.fer_train)} FER training faces make no batch of {cfg.fer_per_batch}.")
    total_steps = steps * cfg.epochs
    state = resume_state(cfg, net, optimizer, resume)
    ckpt = cfg.work_dir / checkpoint.CHECKPOINT_NAME

    def result(cal: Calibration, metrics: SplitMetrics, epochs: int) -> TrainResult:
        return TrainResult(
            cal,
            metrics,
            len(data.utk_train),
            len(data.utk_cal),
            len(data.fer_train),
            len(data.fer_cal),
            epochs,
        )

    if not state.history:  # a fresh run: score the starting weights, the bar a warm start must clear
        metrics, _cal, g32 = evaluate_split(net, data)
        state.history.append(
            {"epoch": 0, **asdict(metrics), "gender_at_32px": g32 or 0.0, "score": selection_score(metrics)}
        )
        if cfg.init is not None:
            state.best_score = selection_score(metrics)
        log.info("start (epoch 0) calibration split: %s", _figures(metrics, g32))
    last: tuple[SplitMetrics, Calibration] | None = None
    end = cfg.epochs if max_new_epochs is None else min(cfg.epochs, state.epoch + 1 + max_new_epochs)
    for epoch in range(state.epoch + 1, end):
        torch.manual_seed(batch_seed(cfg.seed, epoch, -1))  # dropout
        batches = EpochBatches(data, cfg, epoch, steps)
        loader = DataLoader(
            batches,
            batch_size=None,
            shuffle=False,
            num_workers=cfg.loader_workers,
            prefetch_factor=2 if cfg.loader_workers else None,
        )
        _train_mode(net)
        start = window = time.monotonic()
        running: dict[str, float] = {}
        for step, (x, fi, ui) in enumerate(loader):
            global_step = epoch * steps + step
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * lr_factor(global_step, total_steps, cfg.warmup_steps)
            x = x.contiguous(memory_format=torch.channels_last)
            if net.frozen_blocks:
                with torch.no_grad():
                    feats = net.stem(x)
                out = net.from_stem(feats)
            else:
                out = net(x)
            loss, parts = losses(
                out,
                len(fi),
                torch.from_numpy(data.age_train[ui.numpy()]),
                torch.from_numpy(data.female_train[ui.numpy()]),
                torch.from_numpy(data.emotion_train[fi.numpy()]),
                cfg.emotion_label_smoothing,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in parts.items():
                running[k] = 0.98 * running.get(k, v) + 0.02 * v
            if (step + 1) % LOG_EVERY_STEPS == 0:
                now = time.monotonic()
                rate = LOG_EVERY_STEPS * len(x) / (now - window)
                window = now
                log.info(
                    "epoch %d/%d step %d/%d: %.1f img/s, lr %.2e, %s",
                    epoch + 1,
                    cfg.epochs,
                    step + 1,
                    steps,
                    rate,
                    optimizer.param_groups[0]["lr"],
                    ", ".join(f"{k} {v:.3f}" for k, v in running.items()),
                )
        seconds = time.monotonic() - start
        metrics, cal, g32 = evaluate_split(net, data)
        score = selection_score(metrics)
        improved = score > state.best_score
        log.info(
            "epoch %d/%d calibration split: %s (%.0f s, %.1f img/s)%s",
            epoch + 1,
            cfg.epochs,
            _figures(metrics, g32),
            seconds,
            steps * (cfg.fer_per_batch + cfg.utk_per_batch) / seconds,
            f"; best so far (previous {state.best_score:.2f})"
            if improved
            else f"; not better than epoch {state.best_epoch} ({state.best_score:.2f})",
        )
        if improved and on_best is not None:
            on_best(
                net, result(cal, metrics, epoch + 1)
            )  # before the checkpoint: a kill here redoes the epoch
        if improved:
            state.best_score, state.best_epoch = score, epoch + 1
        state.epoch = epoch
        state.history.append(
            {
                "epoch": epoch + 1,
                **asdict(metrics),
                "gender_at_32px": g32 or 0.0,
                "score": score,
                "seconds": seconds,
            }
        )
        checkpoint.save(ckpt, net, optimizer, state)
        last = (metrics, cal)
    if last is None:  # resumed after the last epoch: nothing left to train
        metrics, cal, _ = evaluate_split(net, data)
        last = (metrics, cal)
    return net.eval(), result(last[1], last[0], state.epoch + 1)
