"""The multi-task network: EfficientNet-Lite0 trunk (ImageNet weights) with age, gender and emotion heads.

The first ``FROZEN_BLOCKS`` blocks keep their ImageNet weights: low-level edges and textures transfer as they
are, and freezing them lets training cache their activations once, which makes an epoch several times cheaper
on a CPU. Everything after them is fine-tuned.
"""

from __future__ import annotations

import torch
from torch import nn

from classifier.backbone import FEATURE_DIM, EfficientNetLite0

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
FROZEN_BLOCKS = 5  # default: stem + stages 1-3 (stride 8); their output is 40 x S/8 x S/8
# Blocks that may be frozen: 0 (train everything) up to the end of stage 5 (stride 16); fewer frozen blocks
# adapt more of the trunk but make every training step (and the cached activations) bigger.
MAX_FROZEN_BLOCKS = 11
# The age head predicts a Laplace distribution; outputs are scaled so that they start near 0.
AGE_CENTER = 33.0
AGE_RANGE = 20.0
MIN_AGE_SCALE = 0.3  # years; keeps the Laplace scale away from 0 so the NLL stays finite


class AttributeOutputs:
    """Raw (uncalibrated) outputs of one batch, as tensors."""

    def __init__(
        self,
        age_mean: torch.Tensor,
        age_scale: torch.Tensor,
        gender_logit: torch.Tensor,
        emotion_logits: torch.Tensor,
    ) -> None:
        self.age_mean = age_mean  # years
        self.age_scale = age_scale  # Laplace scale b, years (std = sqrt(2) b)
        self.gender_logit = gender_logit  # > 0 means female
        self.emotion_logits = emotion_logits


class AttributeNet(nn.Module):
    def __init__(self, dropout: float = 0.25, frozen_blocks: int = FROZEN_BLOCKS) -> None:
        """``frozen_blocks`` only decides where training splits the trunk (see :meth:`stem`); the forward
        pass, the state dict and therefore the saved weights are the same for every value."""
        super().__init__()
        if not 0 <= frozen_blocks <= MAX_FROZEN_BLOCKS:
            raise ValueError(f"frozen_blocks must be between 0 and {MAX_FROZEN_BLOCKS}, not {frozen_blocks}.")
        self.frozen_blocks = frozen_blocks
        self.trunk = EfficientNetLite0()
        # The ImageNet classifier is not used; drop it so it neither trains nor ships.
        del self.trunk._fc
        self.dropout = nn.Dropout(dropout)
        self.age_head = nn.Linear(FEATURE_DIM, 2)
        self.gender_head = nn.Linear(FEATURE_DIM, 1)
        self.emotion_head = nn.Linear(FEATURE_DIM, len(EMOTIONS))

    def load_imagenet(self, state: dict[str, torch.Tensor]) -> None:
        trunk_state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        self.trunk.load_state_dict(trunk_state)

    def frozen_parameters(self) -> list[nn.Parameter]:
        params = list(self.trunk._conv_stem.parameters()) + list(self.trunk._bn0.parameters())
        for block in self.trunk._blocks[: self.frozen_blocks]:
            params += list(block.parameters())
        return params

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen part: normalised images -> activations after block ``frozen_blocks``."""
        return self.trunk.feature_map(x, upto_block=self.frozen_blocks)

    def from_stem(self, feats: torch.Tensor) -> AttributeOutputs:
        t = self.trunk
        out = feats
        for block in t._blocks[self.frozen_blocks :]:
            out = block(out)
        out = t.act(t._bn1(t._conv_head(out))).mean(dim=(2, 3))
        out = self.dropout(out)
        age = self.age_head(out)
        age_mean = AGE_CENTER + AGE_RANGE * age[:, 0]
        age_scale = nn.functional.softplus(age[:, 1] + 1.5) * 3.0 + MIN_AGE_SCALE
        return AttributeOutputs(age_mean, age_scale, self.gender_head(out)[:, 0], self.emotion_head(out))

    def forward(self, x: torch.Tensor) -> AttributeOutputs:
        return self.from_stem(self.stem(x))
