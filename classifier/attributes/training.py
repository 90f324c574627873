"""Training: multi-task fine-tuning of EfficientNet-Lite0 on UTKFace (age, gender) and FER2013 (emotion).

Two recipes share the data, network, losses and checkpoint. Crops are made once (``datasets.cached_crops``).
*Cached views* (the default): the frozen first blocks run once per augmented view and their activations are
cached in fp16, so an epoch only runs the fine-tuned blocks. *Online* (``online_augment``, in ``online.py``):
every batch is augmented afresh and the whole network can train. Every batch mixes FER and UTKFace faces so
the shared trunk serves all three heads. One checkpoint per epoch (``checkpoint.py``); ``resume`` continues
from the last one exactly (seeded per epoch and batch).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from classifier.attributes import calibration, checkpoint
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
from classifier.attributes.network import FROZEN_BLOCKS, AttributeNet, AttributeOutputs
from classifier.backbone import load_imagenet_lite0

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
    # Online mode (``--online-augment``, see online.py): the whole network (with --frozen-blocks 0) trains on
    # crops augmented afresh in every batch, including store-camera degradations; ``views`` is unused.
    online_augment: bool = False
    augment_strength: float = 1.0  # scales the probability of every camera degradation (augment.py)
    loader_workers: int = 1  # processes preparing augmented batches next to the training one (0: inline)


@dataclass(frozen=True)
class SplitMetrics:
    age_mae: float
    gender_accuracy: float
    emotion_accuracy: float


def selection_score(m: SplitMetrics) -> float:
    """One number to pick the best epoch by, on the calibration split: gender and emotion accuracy in points,
    minus 5 points per year of age MAE (0.2 years of MAE weigh as much as one point of accuracy; the targets'
    gaps are about 2-4 points of accuracy and 0.3-0.6 years). Higher is better."""
    return 100.0 * m.gender_accuracy + 100.0 * m.emotion_accuracy - 5.0 * m.age_mae


@dataclass(frozen=True)
class TrainResult:
    calibration: Calibration
    calibration_metrics: SplitMetrics
    n_utk_train: int
    n_utk_calibration: int
    n_fer_train: int
    n_fer_calibration: int
    epochs: int


# ---- losses and metrics -------------------------------------------------------------------------------


def losses(
    out: AttributeOutputs,
    n_fer: int,
    age: torch.Tensor,
    female: torch.Tensor,
    emotion: torch.Tensor,
    label_smoothing: float = 0.05,
) -> tuple[torch.Tensor, dict[str, float]]:
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


def _warm_start(net: AttributeNet, models_dir: Path, input_size: int) -> None:
    from classifier.attributes.model import AttributeModel

    start = AttributeModel.load(models_dir)
    if start.input_size != input_size:
        raise ValueError(
            f"--init model in {models_dir} takes {start.input_size} px input, not {input_size} px; "
            f"pass --input-size {start.input_size}."
        )
    net.load_state_dict(start.net.state_dict())
    log.info("warm start from %s", models_dir)


# ---- the loop ------------------------------------------------------------------------------------------


def lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _labels(utk: list[UtkSample], fer: list[FerSample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([s.age for s in utk], np.float32),
        np.array([s.female for s in utk], np.float32),
        np.array([s.emotion for s in fer], np.int64),
    )


@dataclass(frozen=True)
class TrainData:
    """Decoded crops and labels of the training and calibration faces only: the held-out test faces (15 % of
    UTKFace, see ``split.py``) and FER's validation folder are never loaded, so nothing can train on them."""

    utk_train: np.ndarray  # N x S x S x 3 uint8 at the network's input size
    age_train: np.ndarray  # years, float32
    female_train: np.ndarray  # 0/1, float32
    utk_cal: np.ndarray
    age_cal: np.ndarray
    female_cal: np.ndarray
    fer_train: np.ndarray
    emotion_train: np.ndarray  # int64 index into EMOTIONS
    fer_cal: np.ndarray
    emotion_cal: np.ndarray


def prepare_data(cfg: TrainConfig) -> TrainData:
    utk_all = list_utkface(cfg.utkface)
    fer_all = list_fer(fer_folder(cfg.fer2013, "train"))
    if cfg.limit is not None:
        rng0 = np.random.default_rng(cfg.seed)
        utk_all = [utk_all[i] for i in sorted(rng0.permutation(len(utk_all))[: cfg.limit])]
        fer_all = [fer_all[i] for i in sorted(rng0.permutation(len(fer_all))[: cfg.limit])]
    utk_split = split_utkface(utk_all, cfg.seed)
    fer_split = split_fer_train(fer_all, cfg.seed)
    utk_crops = resize_crops(
        cached_crops([s.path for s in utk_all], cfg.work_dir / "crops", "utkface"), cfg.input_size
    )
    fer_crops = resize_crops(
        cached_crops([s.path for s in fer_all], cfg.work_dir / "crops", "fer_train"), cfg.input_size
    )
    age, female, emotion = _labels(utk_all, fer_all)
    ut, uc = np.array(utk_split.train, int), np.array(utk_split.calibration, int)
    ft, fc = np.array(fer_split.train, int), np.array(fer_split.calibration, int)
    return TrainData(
        utk_crops[ut],
        age[ut],
        female[ut],
        utk_crops[uc],
        age[uc],
        female[uc],
        fer_crops[ft],
        emotion[ft],
        fer_crops[fc],
        emotion[fc],
    )


def new_network(cfg: TrainConfig) -> AttributeNet:
    net = AttributeNet(frozen_blocks=cfg.frozen_blocks)
    net.load_imagenet(load_imagenet_lite0().state_dict())
    if cfg.init is not None:
        _warm_start(net, cfg.init, cfg.input_size)
    net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    for p in net.frozen_parameters():
        p.requires_grad_(False)
    return net


def new_optimizer(net: AttributeNet, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; the heads learn at ``head_lr``, the trunk at ``lr``."""
    trainable = [p for p in net.parameters() if p.requires_grad]
    head_ids = {id(p) for h in (net.age_head, net.gender_head, net.emotion_head) for p in h.parameters()}
    return torch.optim.AdamW(
        [
            {"params": [p for p in trainable if id(p) not in head_ids], "lr": cfg.lr},
            {"params": [p for p in trainable if id(p) in head_ids], "lr": cfg.head_lr},
        ],
        weight_decay=cfg.weight_decay,
    )


def resume_state(
    cfg: TrainConfig, net: AttributeNet, optimizer: torch.optim.Optimizer, resume: bool
) -> checkpoint.TrainState:
    """The checkpoint's state when resuming (refusing another schedule length), else a fresh one."""
    ckpt = cfg.work_dir / checkpoint.CHECKPOINT_NAME
    if not (resume and ckpt.is_file()):
        if resume:
            log.warning("--resume: no checkpoint in %s, starting from the beginning", cfg.work_dir)
        return checkpoint.TrainState(epochs=cfg.epochs)
    state = checkpoint.load(ckpt, net, optimizer)
    if state.epochs and state.epochs != cfg.epochs:
        raise ValueError(
            f"The checkpoint in {cfg.work_dir} belongs to a {state.epochs}-epoch schedule; pass "
            f"--epochs {state.epochs} to resume it (or another --work-dir to start afresh)."
        )
    log.info("resumed from %s after epoch %d of %d", ckpt, state.epoch + 1, cfg.epochs)
    return state


def fit_calibration(
    mu: np.ndarray, b: np.ndarray, g: np.ndarray, e: np.ndarray, data: TrainData
) -> Calibration:
    if len(data.age_cal) and len(data.emotion_cal):
        return calibration.fit(mu, b, data.age_cal, g, data.female_cal.astype(bool), e, data.emotion_cal)
    log.warning("calibration split is empty (tiny data set): probabilities stay uncalibrated")
    return Calibration()


def train(
    cfg: TrainConfig, resume: bool = False, on_best: Callable[[AttributeNet, TrainResult], None] | None = None
) -> tuple[AttributeNet, TrainResult]:
    """Train; ``on_best`` (online mode) receives each epoch's model that beats the best so far."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    data = prepare_data(cfg)
    net = new_network(cfg)
    if cfg.online_augment:
        from classifier.attributes.online import train_online

        return train_online(cfg, data, net, resume, on_best)

    from classifier.attributes.cached import train_cached

    return train_cached(cfg, data, net, resume)
