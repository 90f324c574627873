"""The cached-views recipe: the frozen first blocks run once per augmented view of each training face and
their activations are cached in fp16 (``work_dir/stems*``), so an epoch only runs the fine-tuned blocks.
Cheap on a CPU, but the augmentation is fixed per view and the frozen blocks never adapt (see online.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from classifier.attributes import checkpoint
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
)
from classifier.backbone import to_input

log = logging.getLogger(__name__)


# ---- augmentation (applied once per cached view, seeded) -----------------------------------------------


def augment(crop: np.ndarray, rng: np.random.Generator, grey_p: float) -> np.ndarray:
    """Flip, a small similarity jitter (detector noise at run time), brightness/contrast, maybe grey."""
    size = crop.shape[0]
    out = crop[:, ::-1] if rng.random() < 0.5 else crop
    angle = rng.uniform(-8, 8)
    scale = rng.uniform(0.92, 1.08)
    shift = rng.uniform(-0.04, 0.04, size=2) * size
    m = np.asarray(cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale), dtype=np.float64)
    m[:, 2] += shift
    out = cv2.warpAffine(np.ascontiguousarray(out), m, (size, size), borderMode=cv2.BORDER_REPLICATE)
    gain = rng.uniform(0.75, 1.25)
    bias = rng.uniform(-20, 20)
    pixels = np.clip(out.astype(np.float32) * gain + bias, 0, 255)
    if rng.random() < grey_p:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True), 3, axis=2)
    return pixels.astype(np.uint8)


def stem_features(
    net: AttributeNet,
    crops: np.ndarray,
    desc: str,
    batch: int = 256,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Frozen-block activations (fp16) for every crop, optionally transformed first."""
    out: np.ndarray | None = None
    net.eval()
    if len(crops) == 0:  # tiny data sets can leave a split empty; keep the shape
        with torch.inference_mode():
            shape = net.stem(to_input(np.zeros((1, *crops.shape[1:]), np.uint8))).shape[1:]
        return np.empty((0, *shape), dtype=np.float16)
    with torch.inference_mode():
        for start in tqdm(range(0, len(crops), batch), desc=desc, unit="batch", mininterval=5.0):
            chunk = crops[start : start + batch]
            if transform is not None:
                chunk = np.stack([transform(c) for c in chunk])
            x = to_input(chunk).contiguous(memory_format=torch.channels_last)
            f = net.stem(x).numpy().astype(np.float16)
            if out is None:
                out = np.empty((len(crops), *f.shape[1:]), dtype=np.float16)
            out[start : start + len(f)] = f
    assert out is not None
    return out


def _stem_cache(
    net: AttributeNet, crops: np.ndarray, work: Path, name: str, views: int, seed: int, grey_p: float
) -> np.ndarray:
    """views x N x C x H x W activations; view 0 is the plain crop, the others augmented."""
    file = work / f"stem_{name}_{len(crops)}_{views}_{seed}.npy"
    if file.is_file():
        return np.load(file, mmap_mode="r")
    parts = []
    for v in range(views):
        rng = np.random.default_rng([seed, v])
        transform = None if v == 0 else (lambda c, r=rng: augment(c, r, grey_p))
        desc = f"frozen blocks {name} view {v + 1}/{views}"
        parts.append(stem_features(net, crops, desc, transform=transform))
    stacked = np.stack(parts)
    tmp = file.with_suffix(".tmp.npy")
    np.save(tmp, stacked)
    tmp.replace(file)
    return stacked


def predict_stems(net: AttributeNet, stems: np.ndarray, batch: int = 512) -> tuple[np.ndarray, ...]:
    net.eval()
    if len(stems) == 0:
        return np.empty(0), np.empty(0), np.empty(0), np.empty((0, len(EMOTIONS)))
    parts: list[list[np.ndarray]] = [[], [], [], []]
    with torch.inference_mode():
        for start in range(0, len(stems), batch):
            x = torch.from_numpy(np.asarray(stems[start : start + batch], dtype=np.float32))
            o = net.from_stem(x.contiguous(memory_format=torch.channels_last))
            outputs = (o.age_mean, o.age_scale, o.gender_logit, o.emotion_logits)
            for part, t in zip(parts, outputs, strict=True):
                part.append(t.numpy())
    return tuple(np.concatenate(p) for p in parts)


def _frozen_digest(net: AttributeNet) -> str:
    digest = hashlib.sha256()
    for p in net.frozen_parameters():
        digest.update(p.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:10]


def train_cached(
    cfg: TrainConfig, data: TrainData, net: AttributeNet, resume: bool = False
) -> tuple[AttributeNet, TrainResult]:
    # Activations depend on the input size, on where the trunk is split and on the frozen weights.
    stems = cfg.work_dir / f"stems{cfg.input_size}_f{cfg.frozen_blocks}_{_frozen_digest(net)}"
    stems.mkdir(exist_ok=True)
    utk_train = _stem_cache(net, data.utk_train, stems, "utk_train", cfg.views, cfg.seed, grey_p=0.4)
    fer_train = _stem_cache(net, data.fer_train, stems, "fer_train", cfg.views, cfg.seed + 1, grey_p=0.0)
    utk_cal = _stem_cache(net, data.utk_cal, stems, "utk_cal", 1, cfg.seed, 0.0)[0]
    fer_cal = _stem_cache(net, data.fer_cal, stems, "fer_cal", 1, cfg.seed, 0.0)[0]
    # Loaded into RAM once: random access into a memory map would dominate the epoch.
    utk_train = np.ascontiguousarray(utk_train)
    fer_train = np.ascontiguousarray(fer_train)
    age_t, female_t, emo_t = data.age_train, data.female_train, data.emotion_train
    n_ut, n_ft = len(age_t), len(emo_t)

    optimizer = new_optimizer(net, cfg)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    steps_per_epoch = n_ft // cfg.fer_per_batch
    total_steps = steps_per_epoch * cfg.epochs
    state = resume_state(cfg, net, optimizer, resume)

    for epoch in range(state.epoch + 1, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        fer_order = rng.permutation(n_ft)
        utk_order = np.concatenate(
            [rng.permutation(n_ut) for _ in range(1 + steps_per_epoch * cfg.utk_per_batch // n_ut)]
        )
        net.train()
        bar = tqdm(
            range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", mininterval=5.0
        )
        running: dict[str, float] = {}
        for step in bar:
            global_step = epoch * steps_per_epoch + step
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * lr_factor(global_step, total_steps, cfg.warmup_steps)
            fi = fer_order[step * cfg.fer_per_batch : (step + 1) * cfg.fer_per_batch]
            ui = utk_order[step * cfg.utk_per_batch : (step + 1) * cfg.utk_per_batch]
            fv = rng.integers(0, cfg.views, len(fi))
            uv = rng.integers(0, cfg.views, len(ui))
            x = np.concatenate([fer_train[fv, fi], utk_train[uv, ui]]).astype(np.float32)
            out = net.from_stem(torch.from_numpy(x).contiguous(memory_format=torch.channels_last))
            loss, parts = losses(
                out,
                len(fi),
                torch.from_numpy(age_t[ui]),
                torch.from_numpy(female_t[ui]),
                torch.from_numpy(emo_t[fi]),
                cfg.emotion_label_smoothing,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in parts.items():
                running[k] = 0.98 * running.get(k, v) + 0.02 * v
            if step % 20 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
        metrics = split_metrics(net, utk_cal, fer_cal, data.age_cal, data.female_cal, data.emotion_cal)
        log.info("epoch %d: calibration-split %s", epoch + 1, asdict(metrics))
        state.epoch = epoch
        state.history.append({"epoch": epoch + 1, **asdict(metrics)})
        checkpoint.save(cfg.work_dir / checkpoint.CHECKPOINT_NAME, net, optimizer, state)

    mu, b, g, _ = predict_stems(net, utk_cal)
    _, _, _, e = predict_stems(net, fer_cal)
    cal = fit_calibration(mu, b, g, e, data)
    log.info("calibration: %s", asdict(cal))
    metrics = split_metrics(net, utk_cal, fer_cal, data.age_cal, data.female_cal, data.emotion_cal)
    return net.eval(), TrainResult(
        cal, metrics, n_ut, len(data.age_cal), n_ft, len(data.emotion_cal), cfg.epochs
    )


def split_metrics(
    net: AttributeNet,
    utk_stems: np.ndarray,
    fer_stems: np.ndarray,
    age: np.ndarray,
    female: np.ndarray,
    emotion: np.ndarray,
) -> SplitMetrics:
    if len(utk_stems) == 0 or len(fer_stems) == 0:
        return SplitMetrics(float("nan"), float("nan"), float("nan"))
    mu, _b, g, _ = predict_stems(net, utk_stems)
    _, _, _, e = predict_stems(net, fer_stems)
    return SplitMetrics(
        age_mae=float(np.mean(np.abs(np.clip(mu, 0, 100) - age))),
        gender_accuracy=float(np.mean((g > 0) == (female > 0.5))),
        emotion_accuracy=float(np.mean(e.argmax(axis=1) == emotion)),
    )
