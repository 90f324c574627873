"""Train the separate grey emotion network (``emotion_net.py``) on FER2013, and evaluate it.

``python -m classifier.attributes.emotion_train train --fer2013 DIR --work-dir DIR`` trains on the project's
FER split (``datasets.split_fer_train``): the 95% train part trains, the 5% calibration part picks the epoch
and fits the softmax temperature. Crops are the run-time eye-aligned 96 px crops (``datasets.cached_crops``,
made once under ``WORK/crops``), turned grey and shrunk by :func:`emotion_net.grey_input` as at run time.
One checkpoint per epoch (``WORK/emotion_ckpt.pt``); ``--resume`` continues from it (every epoch's shuffling
and augmentation are seeded from the seed and the epoch, so a resumed run draws the same batches).

``... evaluate --fer2013 DIR --work-dir DIR --weights FILE --models models`` reports the calibration and
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
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classifier.attributes.datasets import SEED, cached_crops, crop_all, fer_folder, list_fer, split_fer_train
from classifier.attributes.emotion_net import (
    EMOTION_INPUT,
    WIDTHS,
    EmotionModel,
    EmotionNet,
    augment_grey,
    grey_input,
    save_emotion_net,
    to_tensor,
)
from classifier.crop import CROP_SIZE

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


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature with the lowest NLL on (calibration) logits, on a log grid 0.5..3."""
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.5), math.log(3.0), 61)):
        nll = _nll(softmax(logits / t), labels)
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))


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


def _save_ckpt(path: Path, blob: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


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
    x_tr_t = torch.from_numpy(x_tr)
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
            xb = (x_tr_t[idx].float().unsqueeze(1) - 128.0) / 64.0
            xb = augment_grey(xb, gen).contiguous(memory_format=torch.channels_last)
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
            "cal_nll": _nll(softmax(cal_logits), y_ca),
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
        _save_ckpt(
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
    temperature = fit_temperature(cal_logits, y_ca)
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


def ms_per_face(predict: Any, crops: np.ndarray, repeats: int = 200) -> tuple[float, float]:
    """One thread, one batch of ``crops``: median (wall, CPU) ms per face; CPU time is what the net costs
    when the machine is not shared, wall time includes waiting for the other processes on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(10):
            predict(crops)
        wall, cpu = [], []
        for _ in range(repeats):
            w, c = time.perf_counter(), time.thread_time()
            predict(crops)
            wall.append(time.perf_counter() - w)
            cpu.append(time.thread_time() - c)
        return statistics.median(wall) / len(crops) * 1e3, statistics.median(cpu) / len(crops) * 1e3
    finally:
        torch.set_num_threads(threads)


def evaluate(fer2013: Path, work_dir: Path, weights: Path, models: Path, seed: int = SEED) -> dict[str, Any]:
    from classifier.attributes.model import AttributeModel

    model = EmotionModel.load(weights)
    attr = AttributeModel.load(models).network_only()  # the attribute network's own emotion
    fer_all = list_fer(fer_folder(fer2013, "train"))
    split = split_fer_train(fer_all, seed)
    cal_idx = np.array(split.calibration, int)
    train_crops = cached_crops([s.path for s in fer_all], work_dir / "crops", "fer_train")
    cal_crops = train_crops[cal_idx]
    del train_crops
    cal_y = np.array([fer_all[i].emotion for i in cal_idx])
    test = list_fer(fer_folder(fer2013, "validation"))
    test_crops, _found = crop_all([s.path for s in test], CROP_SIZE, "fer2013 validation")
    test_y = np.array([s.emotion for s in test])

    def attr_probs(crops: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                np.array([a.emotion_probs for a in attr.predict(crops[s : s + 64])])
                for s in range(0, len(crops), 64)
            ]
        )

    def emo_probs(crops: np.ndarray) -> np.ndarray:
        return np.concatenate([model.probs(crops[s : s + 256]) for s in range(0, len(crops), 256)])

    p_cal_e, p_cal_a = emo_probs(cal_crops), attr_probs(cal_crops)
    weights_grid = [round(w, 2) for w in np.linspace(0.0, 1.0, 21)]

    def acc(p: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(p.argmax(1) == y))

    cal_by_w = {w: acc(w * p_cal_e + (1 - w) * p_cal_a, cal_y) for w in weights_grid}
    best_w = max(weights_grid, key=lambda w: (cal_by_w[w], -abs(w - 0.5)))
    # Averaging two calibrated distributions flattens them: one more temperature on the blend's log
    # probabilities, fitted on the calibration split, makes its confidence mean what it says again.
    blend_t = fit_temperature(np.log(best_w * p_cal_e + (1 - best_w) * p_cal_a + 1e-9), cal_y)
    p_te_e, p_te_a = emo_probs(test_crops), attr_probs(test_crops)
    batch3 = test_crops[:3]
    emo_wall, emo_cpu = ms_per_face(model.probs, batch3)
    attr_wall, attr_cpu = ms_per_face(attr.predict, batch3)
    net = model.net
    return {
        "weights": str(weights),
        "n_calibration": len(cal_y),
        "n_test": len(test_y),
        "temperature": model.temperature,
        "calibration": {
            "emotion_net": acc(p_cal_e, cal_y),
            "shipped_model": acc(p_cal_a, cal_y),
            "ensemble": cal_by_w[best_w],
            "ensemble_weight_of_emotion_net": best_w,
            "ensemble_by_weight": cal_by_w,
            "blend_temperature": blend_t,
        },
        "test_publictest": {
            "emotion_net": acc(p_te_e, test_y),
            "shipped_model": acc(p_te_a, test_y),
            "ensemble": acc(best_w * p_te_e + (1 - best_w) * p_te_a, test_y),
        },
        "ms_per_face_batch3_one_thread": {
            "emotion_net_wall": emo_wall,
            "emotion_net_cpu": emo_cpu,
            "attribute_model_wall": attr_wall,
            "attribute_model_cpu": attr_cpu,
        },
        "parameters": sum(p.numel() for p in net.parameters()),
        "file_bytes": weights.stat().st_size,
    }


SHIPPED_FILE = "face_emotion.pt"


def ship(weights: Path, report: dict[str, Any], models: Path, commands: Sequence[str]) -> dict[str, Any]:
    """Copy the network into ``models`` and pin it, with the calibration-chosen blend weight and the
    evaluation's figures, as the manifest's ``face_emotion`` entry."""
    import shutil

    from classifier.attributes.manifest import EMOTION_ENTRY, pinned_file, write_entry

    model = EmotionModel.load(weights)  # refuses anything that is not an emotion-network checkpoint
    target = models / SHIPPED_FILE
    shutil.copyfile(weights, target)
    cal, test = report["calibration"], report["test_publictest"]
    entry: dict[str, Any] = {
        **pinned_file(target),
        "architecture": (
            f"VGG-style CNN, widths {list(model.net.widths)}, {report['parameters']} parameters, on the "
            f"run-time eye-aligned crop turned grey and shrunk to {EMOTION_INPUT} px; fp16 storage"
        ),
        "ensemble_weight": float(cal["ensemble_weight_of_emotion_net"]),
        "blend_temperature": float(cal.get("blend_temperature", 1.0)),
        "temperature": model.temperature,
        "data": "FER2013 train folder, the project's seeded split (datasets.split_fer_train): 95% train, "
        "5% calibration picks the epoch, the temperature and the blend weight",
        "training": {"commands": list(commands)},
        "metrics": {
            "calibration_split": {
                "emotion_net_accuracy": cal["emotion_net"],
                "attribute_net_accuracy": cal["shipped_model"],
                "blended_accuracy": cal["ensemble"],
            },
            "held_out_test": {
                "n_fer2013": report["n_test"],
                "emotion_net_accuracy": test["emotion_net"],
                "attribute_net_accuracy": test["shipped_model"],
                "blended_accuracy": test["ensemble"],
                "emotion_net_ms_per_face_batch3": report["ms_per_face_batch3_one_thread"]["emotion_net_wall"],
            },
        },
    }
    write_entry(models, EMOTION_ENTRY, entry)
    return entry


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
