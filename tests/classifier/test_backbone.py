"""The plain-torch EfficientNet-Lite0: ImageNet weights load, and batch-norm folding keeps every output."""

from __future__ import annotations

import numpy as np
import torch

from classifier.attributes.network import AttributeNet
from classifier.backbone import fold_batchnorm, load_imagenet_lite0, to_input


def _batch(seed: int, n: int = 4, size: int = 96) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return to_input(rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))


def test_folding_keeps_imagenet_outputs_and_removes_every_batch_norm() -> None:
    net = load_imagenet_lite0()
    folded = fold_batchnorm(net)
    x = _batch(1, size=128)
    with torch.inference_mode():
        assert torch.allclose(net(x), folded(x), atol=1e-3, rtol=1e-3)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    # The original keeps its batch norms (training and saving use it).
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())


def test_folding_keeps_the_attribute_heads_outputs_with_trained_statistics() -> None:
    torch.manual_seed(0)
    net = AttributeNet()
    net.load_imagenet(load_imagenet_lite0().state_dict())
    net.train()
    with torch.no_grad():  # move the running statistics away from ImageNet's, as training does
        for _ in range(3):
            net(_batch(2, n=16))
    net.eval()
    folded = fold_batchnorm(net)
    x = _batch(3)
    with torch.inference_mode():
        a, b = net(x), folded(x)
    for name in ("age_mean", "age_scale", "gender_logit", "emotion_logits"):
        assert torch.allclose(getattr(a, name), getattr(b, name), atol=1e-3, rtol=1e-3), name
