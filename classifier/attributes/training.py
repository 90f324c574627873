"""Training: multi-task fine-tuning of EfficientNet-Lite0 on UTKFace (age, gender) and FER2013 (emotion).

CPU plan: crops are made once (``datasets.cached_crops``); the frozen first blocks run once per augmented view
and their activations are cached in fp16, so an epoch only runs the fine-tuned blocks. Every batch mixes FER
and UTKFace faces so the shared trunk serves all three heads. One checkpoint per epoch; ``resume`` continues
from the last one with the same seeded order.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from classifier.attributes import calibration
from classifier.attributes.datasets import (
    SEED,
    FerSample,
    UtkSample,
    cached_crops,
    fer_folder,
    list_fer,
    list_utkface,
    split_fer_train,
    split_utkface,
)
from classifier.attributes.model import Calibration, resize_crops
from classifier.attributes.network import EMOTIONS, FROZEN_BLOCKS, AttributeNet, AttributeOutputs
from classifier.backbone import load_imagenet_lite0, to_input

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    utkface: Path
    fer2013: Path
    work_dir: Path
    epochs: int = 8
    seed: int = SEED
    views: int = 3  # augmented copies of each training face whose frozen activations are cached
    fer_per_batch: int = 48
    utk_per_batch: int = 48
    lr: float = 6e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.02
    warmup_steps: int = 150
    threads: int = 2
    limit: int | None = None  # cap samples per dataset (smoke tests)
    # The network sees crops shrunk from CROP_SIZE to this (see model.resize_crops): 64 px is enough for
    # FER's 48 px faces and makes training and inference about twice as cheap on this CPU.
    input_size: int = 64
    # Trunk blocks kept at their ImageNet weights (activations cached once); fewer adapt more, cost more.
    frozen_blocks: int = FROZEN_BLOCKS
    emotion_label_smoothing: float = 0.05  # FER2013 labels are noisy
    # A models folder whose trained weights start this run instead of ImageNet (a warm start that continues
    # an earlier run with a fresh learning-rate schedule); its input size must match.
    init: Path | None = None


@dataclass(frozen=True)
class SplitMetrics:
    age_mae: float
    gender_accuracy: float
    emotion_accuracy: float


@dataclass(frozen=True)
class TrainResult:
    calibration: Calibration
    calibration_metrics: SplitMetrics
    n_utk_train: int
    n_utk_calibration: int
    n_fer_train: int
    n_fer_calibration: int
    epochs: int


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


def stem_features(net: AttributeNet, crops: np.ndarray, desc: str, batch: int = 256,
                  transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Frozen-block activations (fp16) for every crop, optionally transformed first."""
    out: np.ndarray | None = None
    net.eval()
    if len(crops) == 0:  # tiny data sets can leave a split empty; keep the shape
        with torch.inference_mode():
            shape = net.stem(to_input(np.zeros((1, *crops.shape[1:]), np.uint8))).shape[1:]
        return np.empty((0, *shape), dtype=np.float16)
    with torch.inference_mode():
        for start in tqdm(range(0, len(crops), batch), desc=desc, unit="batch", mininterval=5.0):
            chunk = crops[start:start + batch]
            if transform is not None:
                chunk = np.stack([transform(c) for c in chunk])
            x = to_input(chunk).contiguous(memory_format=torch.channels_last)
            f = net.stem(x).numpy().astype(np.float16)
            if out is None:
                out = np.empty((len(crops), *f.shape[1:]), dtype=np.float16)
            out[start:start + len(f)] = f
    assert out is not None
    return out


def _stem_cache(net: AttributeNet, crops: np.ndarray, work: Path, name: str, views: int, seed: int,
                grey_p: float) -> np.ndarray:
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


# ---- losses and metrics -------------------------------------------------------------------------------


def losses(out: AttributeOutputs, n_fer: int, age: torch.Tensor, female: torch.Tensor,
           emotion: torch.Tensor, label_smoothing: float = 0.05) -> tuple[torch.Tensor, dict[str, float]]:
    """Batch layout: the first ``n_fer`` rows are FER faces, the rest UTKFace."""
    emo = nn.functional.cross_entropy(out.emotion_logits[:n_fer], emotion, label_smoothing=label_smoothing)
    mu = out.age_mean[n_fer:]
    b = out.age_scale[n_fer:]
    # L1 trains the mean (it minimises MAE); the Laplace NLL, with the mean detached, trains the spread.
    l1 = (mu - age).abs().mean() / 5.0
    nll = ((mu.detach() - age).abs() / b + b.log()).mean() * 0.2
    gen = nn.functional.binary_cross_entropy_with_logits(out.gender_logit[n_fer:], female)
    total = emo + l1 + nll + gen
    return total, {"emo": emo.item(), "age_l1": l1.item() * 5.0, "gen": gen.item()}


def predict_stems(net: AttributeNet, stems: np.ndarray, batch: int = 512) -> tuple[np.ndarray, ...]:
    net.eval()
    if len(stems) == 0:
        return np.empty(0), np.empty(0), np.empty(0), np.empty((0, len(EMOTIONS)))
    parts: list[list[np.ndarray]] = [[], [], [], []]
    with torch.inference_mode():
        for start in range(0, len(stems), batch):
            x = torch.from_numpy(np.asarray(stems[start:start + batch], dtype=np.float32))
            o = net.from_stem(x.contiguous(memory_format=torch.channels_last))
            outputs = (o.age_mean, o.age_scale, o.gender_logit, o.emotion_logits)
            for part, t in zip(parts, outputs, strict=True):
                part.append(t.numpy())
    return tuple(np.concatenate(p) for p in parts)


def _warm_start(net: AttributeNet, models_dir: Path, input_size: int) -> None:
    from classifier.attributes.model import AttributeModel

    start = AttributeModel.load(models_dir)
    if start.input_size != input_size:
        raise ValueError(f"--init model in {models_dir} takes {start.input_size} px input, not {input_size} px; "
                         f"pass --input-size {start.input_size}.")
    net.load_state_dict(start.net.state_dict())
    log.info("warm start from %s", models_dir)


def _frozen_digest(net: AttributeNet) -> str:
    digest = hashlib.sha256()
    for p in net.frozen_parameters():
        digest.update(p.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:10]


# ---- the loop ------------------------------------------------------------------------------------------


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _labels(utk: list[UtkSample], fer: list[FerSample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s.age for s in utk], np.float32), np.array([s.female for s in utk], np.float32),
            np.array([s.emotion for s in fer], np.int64))


def train(cfg: TrainConfig, resume: bool = False) -> tuple[AttributeNet, TrainResult]:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    utk_all = list_utkface(cfg.utkface)
    fer_all = list_fer(fer_folder(cfg.fer2013, "train"))
    if cfg.limit is not None:
        rng0 = np.random.default_rng(cfg.seed)
        utk_all = [utk_all[i] for i in sorted(rng0.permutation(len(utk_all))[:cfg.limit])]
        fer_all = [fer_all[i] for i in sorted(rng0.permutation(len(fer_all))[:cfg.limit])]
    utk_split = split_utkface(utk_all, cfg.seed)
    fer_split = split_fer_train(fer_all, cfg.seed)
    utk_crops = resize_crops(cached_crops([s.path for s in utk_all], cfg.work_dir / "crops", "utkface"),
                             cfg.input_size)
    fer_crops = resize_crops(cached_crops([s.path for s in fer_all], cfg.work_dir / "crops", "fer_train"),
                             cfg.input_size)

    net = AttributeNet(frozen_blocks=cfg.frozen_blocks)
    net.load_imagenet(load_imagenet_lite0().state_dict())
    if cfg.init is not None:
        _warm_start(net, cfg.init, cfg.input_size)
    net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    for p in net.frozen_parameters():
        p.requires_grad_(False)

    ut, uc = list(utk_split.train), list(utk_split.calibration)
    ft, fc = list(fer_split.train), list(fer_split.calibration)
    # Activations depend on the input size, on where the trunk is split and on the frozen weights.
    stems = cfg.work_dir / f"stems{cfg.input_size}_f{cfg.frozen_blocks}_{_frozen_digest(net)}"
    stems.mkdir(exist_ok=True)
    utk_train = _stem_cache(net, utk_crops[ut], stems, "utk_train", cfg.views, cfg.seed, grey_p=0.4)
    fer_train = _stem_cache(net, fer_crops[ft], stems, "fer_train", cfg.views, cfg.seed + 1, grey_p=0.0)
    utk_cal = _stem_cache(net, utk_crops[uc], stems, "utk_cal", 1, cfg.seed, 0.0)[0]
    fer_cal = _stem_cache(net, fer_crops[fc], stems, "fer_cal", 1, cfg.seed, 0.0)[0]
    # Loaded into RAM once: random access into a memory map would dominate the epoch.
    utk_train = np.ascontiguousarray(utk_train)
    fer_train = np.ascontiguousarray(fer_train)

    age_all, female_all, emo_all = _labels(utk_all, fer_all)
    age_t, female_t, emo_t = age_all[ut], female_all[ut], emo_all[ft]

    trainable = [p for p in net.parameters() if p.requires_grad]
    head_ids = {id(p) for h in (net.age_head, net.gender_head, net.emotion_head) for p in h.parameters()}
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in trainable if id(p) not in head_ids], "lr": cfg.lr},
         {"params": [p for p in trainable if id(p) in head_ids], "lr": cfg.head_lr}],
        weight_decay=cfg.weight_decay,
    )
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    steps_per_epoch = len(ft) // cfg.fer_per_batch
    total_steps = steps_per_epoch * cfg.epochs
    start_epoch = 0
    ckpt = cfg.work_dir / "checkpoint.pt"
    if resume and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch = int(state["epoch"]) + 1
        log.info("resumed from %s after epoch %d", ckpt, start_epoch)

    for epoch in range(start_epoch, cfg.epochs):
        rng = np.random.default_rng([cfg.seed, epoch])
        fer_order = rng.permutation(len(ft))
        utk_order = np.concatenate([rng.permutation(len(ut)) for _ in range(
            1 + steps_per_epoch * cfg.utk_per_batch // len(ut))])
        net.train()
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step",
                   mininterval=5.0)
        running: dict[str, float] = {}
        for step in bar:
            global_step = epoch * steps_per_epoch + step
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * _lr_factor(global_step, total_steps, cfg.warmup_steps)
            fi = fer_order[step * cfg.fer_per_batch:(step + 1) * cfg.fer_per_batch]
            ui = utk_order[step * cfg.utk_per_batch:(step + 1) * cfg.utk_per_batch]
            fv = rng.integers(0, cfg.views, len(fi))
            uv = rng.integers(0, cfg.views, len(ui))
            x = np.concatenate([fer_train[fv, fi], utk_train[uv, ui]]).astype(np.float32)
            out = net.from_stem(torch.from_numpy(x).contiguous(memory_format=torch.channels_last))
            loss, parts = losses(out, len(fi), torch.from_numpy(age_t[ui]), torch.from_numpy(female_t[ui]),
                                 torch.from_numpy(emo_t[fi]), cfg.emotion_label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in parts.items():
                running[k] = 0.98 * running.get(k, v) + 0.02 * v
            if step % 20 == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in running.items()})
        metrics = split_metrics(net, utk_cal, fer_cal, age_all[uc], female_all[uc], emo_all[fc])
        log.info("epoch %d: calibration-split %s", epoch + 1, asdict(metrics))
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"net": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, tmp)
        tmp.replace(ckpt)

    mu, b, g, _ = predict_stems(net, utk_cal)
    _, _, _, e = predict_stems(net, fer_cal)
    if len(uc) and len(fc):
        cal = calibration.fit(mu, b, age_all[uc], g, female_all[uc].astype(bool), e, emo_all[fc])
    else:
        log.warning("calibration split is empty (tiny data set): probabilities stay uncalibrated")
        cal = Calibration()
    log.info("calibration: %s", asdict(cal))
    metrics = split_metrics(net, utk_cal, fer_cal, age_all[uc], female_all[uc], emo_all[fc])
    return net.eval(), TrainResult(cal, metrics, len(ut), len(uc), len(ft), len(fc), cfg.epochs)


def split_metrics(net: AttributeNet, utk_stems: np.ndarray, fer_stems: np.ndarray, age: np.ndarray,
                  female: np.ndarray, emotion: np.ndarray) -> SplitMetrics:
    if len(utk_stems) == 0 or len(fer_stems) == 0:
        return SplitMetrics(float("nan"), float("nan"), float("nan"))
    mu, _b, g, _ = predict_stems(net, utk_stems)
    _, _, _, e = predict_stems(net, fer_stems)
    return SplitMetrics(
        age_mae=float(np.mean(np.abs(np.clip(mu, 0, 100) - age))),
        gender_accuracy=float(np.mean((g > 0) == (female > 0.5))),
        emotion_accuracy=float(np.mean(e.argmax(axis=1) == emotion)),
    )


