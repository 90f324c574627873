"""The runtime face-attribute model: load verified weights, predict calibrated attributes for crops."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from classifier.attributes.emotion_net import EmotionModel
from classifier.attributes.manifest import EMOTION_ENTRY, ENTRY_NAME, ModelError, read_manifest, verified_file
from classifier.attributes.metrics import softmax
from classifier.attributes.network import EMOTIONS, AttributeNet
from classifier.backbone import fold_batchnorm, to_input
from classifier.types import FaceAttributes

log = logging.getLogger(__name__)

__all__ = ["AttributeModel", "Calibration", "ModelError"]

MAX_AGE = 100.0


@dataclass(frozen=True)
class Calibration:
    """Fitted on the calibration split (never the test split): temperatures and the age-spread factor."""

    gender_temperature: float = 1.0
    emotion_temperature: float = 1.0
    age_scale_factor: float = 1.0


def save_checkpoint(
    path: Path, net: AttributeNet, calibration: Calibration, input_size: int, meta: dict[str, Any]
) -> None:
    """fp16 storage halves the file; inference runs in fp32 after loading."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    torch.save(
        {
            "format": 1,
            "state_dict": state,
            "input_size": input_size,
            "emotions": list(EMOTIONS),
            "calibration": {
                "gender_temperature": calibration.gender_temperature,
                "emotion_temperature": calibration.emotion_temperature,
                "age_scale_factor": calibration.age_scale_factor,
            },
            "meta": meta,
        },
        path,
    )


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """The network's input size may be smaller than the crop (cheaper); training and run time both shrink
    crops here, the same way."""
    if crops.shape[1] == size and crops.shape[2] == size:
        return crops
    return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])


class AttributeModel:
    """Batched, calibrated age / gender / emotion for aligned crops from :func:`classifier.crop.crop_face`."""

    def __init__(
        self,
        net: AttributeNet,
        calibration: Calibration,
        input_size: int,
        emotion_net: EmotionModel | None = None,
        emotion_net_weight: float = 0.0,
        blend_temperature: float = 1.0,
    ) -> None:
        """``emotion_net``, when given, is blended into the emotion probabilities with
        ``emotion_net_weight`` (chosen on the calibration split; the rest is this network's own), and the
        blend is recalibrated with ``blend_temperature`` (fitted there too)."""
        if emotion_net is not None and not 0.0 <= emotion_net_weight <= 1.0:
            raise ValueError(f"emotion_net_weight must lie in [0, 1], not {emotion_net_weight}.")
        if not blend_temperature > 0.0:
            raise ValueError(f"blend_temperature must be positive, not {blend_temperature}.")
        self.net = net.eval()  # the trainable layout: warm starts and exports read its state dict
        self._folded = fold_batchnorm(net).to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.calibration = calibration
        self.input_size = input_size
        self.emotion_net = emotion_net
        self.emotion_net_weight = emotion_net_weight if emotion_net is not None else 0.0
        self.blend_temperature = blend_temperature if emotion_net is not None else 1.0

    @classmethod
    def load(cls, models_dir: Path, with_emotion_net: bool = True) -> AttributeModel:
        """Load the weights listed in ``models_dir/manifest.yaml`` after checking their sha256.

        ``with_emotion_net=False`` leaves the separate emotion network out (emotion estimation is off:
        its cost would buy nothing)."""
        path, _entry = verified_file(Path(models_dir), ENTRY_NAME)
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            net = AttributeNet()
            net.load_state_dict(
                {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
            )
            cal = Calibration(**{k: float(v) for k, v in blob["calibration"].items()})
            input_size = int(blob["input_size"])
        except Exception as exc:  # any failure here means an unusable file; say which one
            # torch's own messages run to several sentences; keep ours to one and chain the detail.
            raise ModelError(
                f"Model weights {path} could not be loaded as a face-attribute checkpoint "
                f"({type(exc).__name__})."
            ) from exc
        log.info("face-attribute model loaded from %s (input %d px)", path, input_size)
        if not with_emotion_net:
            return cls(net, cal, input_size)
        emotion_net, weight, blend_t = _load_emotion_net(Path(models_dir))
        return cls(net, cal, input_size, emotion_net, weight, blend_t)

    @classmethod
    def from_network(cls, net: AttributeNet, calibration: Calibration, input_size: int) -> AttributeModel:
        return cls(net, calibration, input_size)

    def network_only(self) -> AttributeModel:
        """The same model without the blended emotion network (to measure either on its own)."""
        return AttributeModel(self.net, self.calibration, self.input_size)

    def _prepare(self, crops: np.ndarray) -> np.ndarray:
        if crops.ndim != 4 or crops.shape[3] != 3:
            raise ValueError(f"AttributeModel.predict needs N x S x S x 3 uint8 crops, not {crops.shape}.")
        return resize_crops(crops, self.input_size)

    def raw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Uncalibrated outputs (age mean, Laplace scale, gender logit, emotion logits) for calibration."""
        batch = to_input(self._prepare(crops)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            out = self._folded(batch)
        return (
            out.age_mean.numpy(),
            out.age_scale.numpy(),
            out.gender_logit.numpy(),
            out.emotion_logits.numpy(),
        )

    def predict(self, crops: np.ndarray) -> list[FaceAttributes]:
        if len(crops) == 0:
            return []
        age, scale, gender_logit, emotion_logits = self.raw(np.asarray(crops, dtype=np.uint8))
        cal = self.calibration
        p_female = 1.0 / (1.0 + np.exp(-gender_logit / cal.gender_temperature))
        emotion = softmax(emotion_logits, cal.emotion_temperature)
        if self.emotion_net is not None and self.emotion_net_weight > 0.0:
            w = self.emotion_net_weight
            emotion = (1.0 - w) * emotion + w * self.emotion_net.probs(np.asarray(crops, dtype=np.uint8))
            if self.blend_temperature != 1.0:
                emotion = softmax(np.log(emotion + 1e-9), self.blend_temperature)
        # Laplace scale b -> standard deviation sqrt(2) b, widened or narrowed by the calibrated factor.
        std = math.sqrt(2.0) * scale * cal.age_scale_factor
        return [
            FaceAttributes(
                age_years=float(np.clip(age[i], 0.0, MAX_AGE)),
                age_std_years=float(std[i]),
                p_female=float(p_female[i]),
                emotion_probs=tuple(float(p) for p in emotion[i]),
            )
            for i in range(len(age))
        ]


def _load_emotion_net(models_dir: Path) -> tuple[EmotionModel | None, float, float]:
    """The manifest's ``face_emotion`` network, its blend weight and the blend's temperature, or none
    when it lists none."""
    if EMOTION_ENTRY not in read_manifest(models_dir)["models"]:
        return None, 0.0, 1.0
    path, entry = verified_file(models_dir, EMOTION_ENTRY)
    try:
        model = EmotionModel.load(path)
        extra = entry.model_extra or {}
        weight = float(extra["ensemble_weight"])
        blend_t = float(extra.get("blend_temperature", 1.0))
        if not (0.0 <= weight <= 1.0 and blend_t > 0.0):
            raise ValueError(weight, blend_t)
    except Exception as exc:  # the file or its entry is unusable: one sentence naming it
        raise ModelError(
            f"Emotion network {path} could not be loaded with the 'ensemble_weight' and "
            f"'blend_temperature' of its manifest entry '{EMOTION_ENTRY}' ({type(exc).__name__})."
        ) from exc
    log.info("emotion network loaded from %s (blend weight %.2f, temperature %.2f)", path, weight, blend_t)
    return model, weight, blend_t
