"""A small separate emotion network on grey faces, fed from the run-time eye-aligned crop.

Run time: :func:`classifier.crop.crop_face` gives a 96 px RGB crop; :func:`grey_input` turns it to luminance
and shrinks it (``cv2.INTER_AREA``) to the network's own input size (48 px). Training reads the very same
crops (``datasets.cached_crops``) through the same function, then augments the grey batch in plain torch
(:func:`augment_grey`). The network is a VGG-style stack of 3 x 3 convolutions with BatchNorm, cheap enough
to run next to the attribute network on one CPU thread.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from classifier.attributes.metrics import softmax
from classifier.attributes.network import EMOTIONS

EMOTION_INPUT = 48  # px, grey
GREY_MEAN = 128.0
GREY_SCALE = 64.0
WIDTHS: tuple[int, ...] = (16, 32, 64, 128)
FORMAT = 1


def grey_input(crops_rgb: np.ndarray, size: int = EMOTION_INPUT) -> np.ndarray:
    """uint8 N x S x S x 3 RGB crops -> uint8 N x size x size luminance (cv2's RGB2GRAY, then INTER_AREA)."""
    if crops_rgb.ndim != 4 or crops_rgb.shape[3] != 3 or crops_rgb.dtype != np.uint8:
        raise ValueError(
            f"grey_input needs N x S x S x 3 uint8 crops, not {crops_rgb.shape} {crops_rgb.dtype}."
        )
    out = np.empty((len(crops_rgb), size, size), np.uint8)
    for i, crop in enumerate(crops_rgb):
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        if grey.shape != (size, size):
            grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = grey
    return out


def to_tensor(grey: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W grey -> float N x 1 x H x W, normalised."""
    batch = torch.from_numpy(np.ascontiguousarray(grey)).float().unsqueeze(1)
    return (batch - GREY_MEAN) / GREY_SCALE


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class EmotionNet(nn.Module):
    """48 px grey -> 7 emotion logits. Stage 1 (48 px) is one convolution, then a stride-2 convolution takes
    it to 24 px; every later stage is two convolutions and a 2 x 2 max-pool; global average pool, dropout,
    one linear layer."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, dropout: float = 0.3) -> None:
        super().__init__()
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"EmotionNet needs four positive widths, not {widths}.")
        w1, w2, w3, w4 = widths
        self.widths = tuple(widths)
        self.features = nn.Sequential(
            _conv(1, w1),
            _conv(w1, w2, stride=2),  # 24 px
            _conv(w2, w2),
            nn.MaxPool2d(2),  # 12 px
            _conv(w2, w3),
            _conv(w3, w3),
            nn.MaxPool2d(2),  # 6 px
            _conv(w3, w4),
            _conv(w4, w4),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(w4, len(EMOTIONS))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.features(x).mean(dim=(2, 3))
        logits: torch.Tensor = self.head(self.dropout(out))
        return logits


def augment_grey(
    batch: torch.Tensor,
    gen: torch.Generator,
    max_rotate_deg: float = 10.0,
    scale: tuple[float, float] = (0.9, 1.1),
    max_shift: float = 0.08,
    brightness: float = 0.4,
    contrast: tuple[float, float] = (0.7, 1.3),
    erase_p: float = 0.5,
    erase_area: tuple[float, float] = (0.02, 0.2),
) -> torch.Tensor:
    """Random flip, rotation, zoom and shift (one affine resample, border pixels repeated), brightness and
    contrast, and random erasing of one rectangle, on a normalised N x 1 x H x W batch; ``gen`` draws all."""
    n, _, h, w = batch.shape

    def uniform(low: float, high: float, size: int = n) -> torch.Tensor:
        return low + (high - low) * torch.rand(size, generator=gen)

    angle = uniform(-max_rotate_deg, max_rotate_deg) * (math.pi / 180.0)
    zoom = uniform(*scale)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = uniform(-2 * max_shift, 2 * max_shift)  # grid units span 2 per side
    theta[:, 1, 2] = uniform(-2 * max_shift, 2 * max_shift)
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gain = uniform(*contrast).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * gain + mean + uniform(-brightness, brightness).view(n, 1, 1, 1)
    # Random erasing: one rectangle per chosen face, filled with noise.
    area = uniform(*erase_area) * h * w
    aspect = torch.exp(uniform(math.log(0.5), math.log(2.0)))
    eh = torch.sqrt(area * aspect).clamp(1, h).long()
    ew = torch.sqrt(area / aspect).clamp(1, w).long()
    top = (torch.rand(n, generator=gen) * (h - eh + 1).float()).long()
    left = (torch.rand(n, generator=gen) * (w - ew + 1).float()).long()
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    box = (
        (ys >= top.view(n, 1, 1))
        & (ys < (top + eh).view(n, 1, 1))
        & (xs >= left.view(n, 1, 1))
        & (xs < (left + ew).view(n, 1, 1))
        & (torch.rand(n, generator=gen) < erase_p).view(n, 1, 1)
    ).unsqueeze(1)
    noise = torch.randn(out.shape, generator=gen)
    return torch.where(box, noise, out)


def fold(net: EmotionNet) -> EmotionNet:
    """An inference copy with every BatchNorm folded into the convolution before it (same outputs)."""
    folded = copy.deepcopy(net).eval()
    for block in folded.features:
        if isinstance(block, nn.Sequential) and isinstance(block[0], nn.Conv2d):
            conv, bn = block[0], block[1]
            assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
            block[0] = fuse_conv_bn_eval(conv, bn)
            block[1] = nn.Identity()
    return folded


def save_emotion_net(path: Path, net: EmotionNet, temperature: float, meta: dict[str, Any]) -> None:
    """fp16 state dict (half the file); inference runs in fp32 after loading."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    torch.save(
        {
            "format": FORMAT,
            "state_dict": state,
            "widths": list(net.widths),
            "input_size": EMOTION_INPUT,
            "emotions": list(EMOTIONS),
            "temperature": float(temperature),
            "meta": meta,
        },
        path,
    )


class EmotionModel:
    """Calibrated emotion probabilities for aligned 96 px RGB crops (BatchNorm folded, channels-last)."""

    def __init__(self, net: EmotionNet, temperature: float = 1.0) -> None:
        self.net = net.eval()
        self._folded = fold(net).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.temperature = temperature

    @classmethod
    def load(cls, path: Path) -> EmotionModel:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("format") != FORMAT or list(blob["emotions"]) != list(EMOTIONS):
            raise ValueError(f"{path} is not an emotion-network checkpoint of format {FORMAT}.")
        net = EmotionNet(tuple(int(w) for w in blob["widths"]))
        net.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
        )
        return cls(net, float(blob["temperature"]))

    def logits(self, crops_rgb: np.ndarray) -> np.ndarray:
        batch = to_tensor(grey_input(crops_rgb)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out: np.ndarray = self._folded(batch).numpy()
        return out

    def probs(self, crops_rgb: np.ndarray) -> np.ndarray:
        return softmax(self.logits(crops_rgb), self.temperature)
