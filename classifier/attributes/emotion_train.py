"""Train the separate grey emotion network (``emotion_net.py``) on FER2013, and evaluate it.

``python -m classifier.attributes.emotion_train train --fer2013 DIR --work-dir DIR`` trains on the project's
FER split (``datasets.split_fer_train``): the 95% train part trains, the 5% calibration part picks the epoch
and fits the softmax temperature. Crops are the run-time eye-aligned 96 px crops (``datasets.cached_crops``,
made once under ``WORK/crops``), turned grey and shrunk by :func:`emotion_net.grey_input` as at run time.
One checkpoint per epoch (``WORK/emotion_ckpt.pt``); ``--resume`` continues from it (every epoch's shuffling
and augmentation are seeded from the seed and the epoch, so a resumed run draws the same batches).

``... evaluate --fer2013 DIR --work-dir DIR --weights FILE --models models`` (code: ``emotion_eval.py``)
reports the calibration and
held-out (FER ``validation`` = PublicTest) accuracy of the network alone and averaged with the shipped
attribute model's emotion probabilities (weight chosen on the calibration split only), the one-thread time
per face at batch 3, the parameter count and the file size.

``... ship --weights FILE --report JSON --models models`` copies the network into ``models/face_emotion.pt``
and pins it in ``models/manifest.yaml`` (entry ``face_emotion``) with the blend weight that the evaluation
chose on the calibration split; ``AttributeModel.load`` then blends it into every emotion estimate.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classifier.attributes.calibration import emotion_nll, fit_temperature
from classifier.attributes.checkpoint import atomic_save
from classifier.attributes.datasets import SEED, cached_crops, fer_folder, list_fer, split_fer_train
from classifier.attributes.emotion_eval import SHIPPED_FILE, evaluate, ship
from classifier.attributes.emotion_net import (
    WIDTHS,
    EmotionNet,
    augment_grey,
    grey_input,
    save_emotion_net,
    to_tensor,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmotionTrainConfig:
    fer2013: Path
    work_dir: Path
    out: Path
    epochs: int = 15
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 300
    label_smoothing: float = 0.1
    dropout: float = 0.2
    widths: tuple[int, ...] = WIDTHS
    seed: int = SEED
    threads: int = 2
    limit: int | None = None  # cap on FER training files (smoke tests)
    resume: bool = False


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to ``peak``, then cosine decay to zero at ``total``."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def net_logits(net: nn.Module, grey: np.ndarray, batch: int = 256) -> np.ndarray:
    net.eval()
    outs = []
    with torch.inference_mode():
        for s in range(0, len(grey), batch):
            outs.append(
                net(to_tensor(grey[s : s + batch]).contiguous(memory_format=torch.channels_last)).numpy()
            )
    return np.concatenate(outs) if outs else np.zeros((0, 7), np.float32)


def _load_train_data(cfg: EmotionTrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train grey, train labels, calibration grey, calibration labels); FER's validation is never read."""
    fer_all = list_fer(fer_folder(cfg.fer2013, "train"))
    if cfg.limit is not None:
        rng = np.random.default_rng(cfg.seed)
        fer_all = [fer_all[i] for i in sorted(rng.permutation(len(fer_all))[: cfg.limit])]
    split = split_fer_train(fer_all, cfg.seed)
    crops = cached_crops([s.path for s in fer_all], cfg.work_dir / "crops", "fer_train")
    grey = grey_input(crops)
    del crops
    labels = np.array([s.emotion for s in fer_all], np.int64)
    tr, ca = np.array(split.train, int), np.array(split.calibration, int)
    return grey[tr], labels[tr], grey[ca], labels[ca]


def train(cfg: EmotionTrainConfig) -> dict[str, Any]:
    torch.set_num_threads(cfg.threads)
    cfg.work_dir.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr, x_ca, y_ca = _load_train_data(cfg)
    log.info("FER split: %d train, %d calibration faces", len(y_tr), len(y_ca))
    torch.manual_seed(cfg.seed)
    net = EmotionNet(cfg.widths, cfg.dropout).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )
    steps_per_epoch = len(y_tr) // cfg.batch
    total = steps_per_epoch * cfg.epochs
    ckpt = cfg.work_dir / "emotion_ckpt.pt"
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"acc": -1.0, "epoch": 0, "state": None}
    start_epoch = 0
    if cfg.resume and ckpt.is_file():
        blob = torch.load(ckpt, map_location="cpu", weights_only=False)
        net.load_state_dict(blob["net"])
        opt.load_state_dict(blob["opt"])
        history, best, start_epoch = blob["history"], blob["best"], int(blob["epoch"])
        log.info("resumed after epoch %d", start_epoch)
    y_tr_t = torch.from_numpy(y_tr)
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        order = torch.randperm(len(y_tr), generator=gen)
        t0 = time.perf_counter()
        loss_sum = correct = seen = 0.0
        for b in range(steps_per_epoch):
            step = epoch * steps_per_epoch + b
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg.lr, cfg.warmup_steps)
            idx = order[b * cfg.batch : (b + 1) * cfg.batch]
            xb = augment_grey(to_tensor(x_tr[idx.numpy()]), gen).contiguous(memory_format=torch.channels_last)
            yb = y_tr_t[idx]
            logits = net(xb)
            loss = nn.functional.cross_entropy(logits, yb, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.detach().argmax(1) == yb).sum().item()
            seen += len(idx)
            if b % 100 == 0:
                log.info(
                    "epoch %d step %d/%d: %.0f img/s, loss %.3f",
                    epoch + 1,
                    b,
                    steps_per_epoch,
                    seen / (time.perf_counter() - t0),
                    loss_sum / max(1.0, seen),
                )
        cal_logits = net_logits(net, x_ca)
        cal_acc = float(np.mean(cal_logits.argmax(1) == y_ca))
        row = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(1.0, seen),
            "train_acc": correct / max(1.0, seen),
            "cal_acc": cal_acc,
            "cal_nll": emotion_nll(cal_logits, y_ca, 1.0),
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        if cal_acc > best["acc"]:
            best = {
                "acc": cal_acc,
                "epoch": epoch + 1,
                "state": {k: v.clone() for k, v in net.state_dict().items()},
            }
        log.info("epoch %d done: %s", epoch + 1, json.dumps({k: round(v, 4) for k, v in row.items()}))
        atomic_save(
            ckpt,
            {
                "net": net.state_dict(),
                "opt": opt.state_dict(),
                "history": history,
                "best": best,
                "epoch": epoch + 1,
            },
        )
    net.load_state_dict(best["state"])
    cal_logits = net_logits(net, x_ca)
    temperature = fit_temperature(emotion_nll, cal_logits, y_ca)
    meta = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "best_epoch": best["epoch"],
        "calibration_accuracy": best["acc"],
        "history": history,
        "n_train": len(y_tr),
        "n_calibration": len(y_ca),
    }
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    save_emotion_net(cfg.out, net, temperature, meta)
    log.info(
        "saved %s (epoch %d, calibration %.4f, T %.3f)", cfg.out, best["epoch"], best["acc"], temperature
    )
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classifier.attributes.emotion_train")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--fer2013", type=Path, required=True)
    tr.add_argument("--work-dir", type=Path, required=True)
    tr.add_argument("--out", type=Path, default=None, help="weights file (default WORK/emotion_net.pt)")
    tr.add_argument("--epochs", type=int, default=EmotionTrainConfig.epochs)
    tr.add_argument("--batch", type=int, default=EmotionTrainConfig.batch)
    tr.add_argument("--lr", type=float, default=EmotionTrainConfig.lr)
    tr.add_argument("--threads", type=int, default=EmotionTrainConfig.threads)
    tr.add_argument("--limit", type=int, default=None)
    tr.add_argument("--resume", action="store_true")
    tr.add_argument(
        "--widths", default=",".join(str(w) for w in WIDTHS), help="four channel widths, e.g. 24,48,96,192"
    )
    ev = sub.add_parser("evaluate")
    ev.add_argument("--fer2013", type=Path, required=True)
    ev.add_argument("--work-dir", type=Path, required=True)
    ev.add_argument("--weights", type=Path, required=True)
    ev.add_argument("--models", type=Path, default=Path("models"))
    ev.add_argument("--json", type=Path, default=None)
    sh = sub.add_parser("ship")
    sh.add_argument("--weights", type=Path, required=True)
    sh.add_argument("--report", type=Path, required=True, help="the JSON that evaluate wrote")
    sh.add_argument("--models", type=Path, default=Path("models"))
    sh.add_argument(
        "--command", dest="commands", action="append", default=[], help="training command (repeat)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    if args.command == "train":
        cfg = EmotionTrainConfig(
            fer2013=args.fer2013,
            work_dir=args.work_dir,
            out=args.out or args.work_dir / "emotion_net.pt",
            epochs=args.epochs,
            batch=args.batch,
            lr=args.lr,
            threads=args.threads,
            limit=args.limit,
            resume=args.resume,
            widths=tuple(int(w) for w in args.widths.split(",")),
        )
        train(cfg)
        return 0
    if args.command == "ship":
        report_in = json.loads(args.report.read_text())
        entry = ship(args.weights, report_in, args.models, args.commands)
        print(
            f"{args.models / SHIPPED_FILE}: sha256 {entry['sha256'][:12]}, blend weight {entry['ensemble_weight']}"
        )
        return 0
    report = evaluate(args.fer2013, args.work_dir, args.weights, args.models)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
