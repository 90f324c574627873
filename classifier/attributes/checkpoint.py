"""The per-epoch training checkpoint: everything ``--resume`` needs to continue exactly where a run stopped.

Written atomically (a temporary file in the same folder, fsync, ``os.replace``), so a run killed at any moment
leaves either the previous checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainState:
    """What a run carries from one epoch to the next, besides the network and optimizer."""

    epoch: int = -1  # last completed epoch (0-based); -1 before the first
    epochs: int = 0  # the schedule's length: a resume must keep it, or the learning rates would jump
    best_score: float = float(
        "-inf"
    )  # selection score of the best model so far (see training.selection_score)
    best_epoch: int = 0  # 1-based; 0 = the starting weights
    history: list[dict[str, float]] = field(default_factory=list)  # per-epoch calibration figures


def save(path: Path, net: nn.Module, optimizer: torch.optim.Optimizer, state: TrainState) -> None:
    blob: dict[str, Any] = {
        "format": 2,
        "net": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": state.epoch,
        "epochs": state.epochs,
        "best_score": state.best_score,
        "best_epoch": state.best_epoch,
        "history": state.history,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "python": random.getstate(),
        },
    }
    atomic_save(path, blob)


def atomic_save(path: Path, blob: dict[str, Any]) -> None:
    """``torch.save`` through a temporary file, synced, then renamed: a crash leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            torch.save(blob, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> dict[str, Any]:
    # The file is our own (numpy RNG state included), so the full unpickler is needed.
    blob: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    return blob


def load(path: Path, net: nn.Module, optimizer: torch.optim.Optimizer) -> TrainState:
    """Restore ``net``, ``optimizer`` and the global random states; returns the carried state."""
    blob = _read(path)
    net.load_state_dict(blob["net"])
    optimizer.load_state_dict(blob["optimizer"])
    rng = blob.get("rng") or {}
    if "torch" in rng:
        torch.set_rng_state(rng["torch"])
    if "numpy" in rng:
        np.random.set_state(rng["numpy"])
    if "python" in rng:
        random.setstate(rng["python"])
    return _state(blob)


def peek(path: Path) -> TrainState:
    """The carried state alone (epoch, best score, history), e.g. to report on a running training."""
    return _state(_read(path))


def _state(blob: dict[str, Any]) -> TrainState:
    return TrainState(
        epoch=int(blob["epoch"]),
        epochs=int(blob.get("epochs") or 0),
        best_score=float(blob.get("best_score", float("-inf"))),
        best_epoch=int(blob.get("best_epoch", 0)),
        history=list(blob.get("history") or []),
    )
