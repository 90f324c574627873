"""The image side: EfficientNet-Lite0 features and ImageNet class probabilities for sampled frames."""

from __future__ import annotations

import threading
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from classifier.backbone import fold_batchnorm, load_imagenet_lite0, to_input
from classifier.subjects.types import MediaEmbedding, SampledFrame

CLASS_FILE = Path(__file__).with_name("imagenet_classes.txt")

# Coarse WordNet groups for runs of ImageNet classes whose names alone do not say what they are
# ("Blenheim spaniel", "Egyptian cat", "tench"). They let the text model place a breed or species
# under the everyday word a subject description uses. Ranges follow the ILSVRC class order.
_GROUPS: tuple[tuple[int, int, str], ...] = (
    (0, 6, "fish"),
    (7, 24, "bird"),
    (25, 32, "amphibian"),
    (33, 68, "reptile"),
    (69, 79, "spider, arachnid"),
    (80, 100, "bird"),
    (101, 106, "wild mammal"),
    (107, 126, "sea creature, invertebrate"),
    (127, 146, "bird"),
    (147, 150, "marine mammal"),
    (151, 268, "dog, domestic dog, pet"),
    (269, 280, "wild canine"),
    (281, 285, "domestic cat, pet"),
    (286, 297, "wild animal, big cat or bear"),
    (298, 299, "wild mammal"),
    (300, 326, "insect"),
    (327, 329, "sea creature"),
    (330, 332, "rabbit"),
    (333, 333, "rodent, small pet"),
    (334, 337, "wild rodent"),
    (338, 338, "rodent, small pet"),
    (339, 384, "wild mammal"),
    (385, 388, "wild mammal"),
    (389, 397, "fish"),
    (924, 965, "food"),
    (966, 969, "drink"),
    (970, 980, "landscape, geological formation"),
    (984, 998, "plant or fungus"),
)


@lru_cache(maxsize=1)
def class_names() -> tuple[tuple[str, ...], ...]:
    """The 1000 class names in logit order, each with its synonyms."""
    lines = [
        ln for ln in CLASS_FILE.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")
    ]
    if len(lines) != 1000:
        raise RuntimeError(f"{CLASS_FILE} must list 1000 classes, found {len(lines)}.")
    return tuple(tuple(part.strip() for part in line.split(",")) for line in lines)


def _is_latin(name: str) -> bool:
    # Binomial names ("Tinca tinca") add nothing for an English sentence model.
    words = name.split()
    return len(words) == 2 and words[0][:1].isupper() and words[1].islower() and words[1].isalpha()


def class_texts() -> tuple[str, ...]:
    """One short English phrase per class for the sentence model: names, synonyms, coarse group."""
    group = {}
    for first, last, word in _GROUPS:
        for index in range(first, last + 1):
            group[index] = word
    texts = []
    for index, names in enumerate(class_names()):
        words = [n.replace("(", " (") for n in names if not _is_latin(n)][:4]
        text = ", ".join(words)
        if index in group:
            text = f"{text} ({group[index]})"
        texts.append(text)
    return tuple(texts)


class ImageEncoder:
    """Runs the backbone on frames; safe to share between threads (one forward pass at a time)."""

    def __init__(self, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self._model = fold_batchnorm(load_imagenet_lite0())
        self._lock = threading.Lock()

    def frame_outputs(self, frames: list[SampledFrame]) -> tuple[np.ndarray, np.ndarray]:
        """(features N x 1280, L2-normalised; ImageNet probabilities N x 1000), in frame order."""
        by_size: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, frame in enumerate(frames):
            by_size[frame.rgb.shape].append(i)
        feats = np.zeros((len(frames), 1280), np.float32)
        probs = np.zeros((len(frames), 1000), np.float32)
        with self._lock, torch.inference_mode():
            for indices in by_size.values():
                batch = to_input(np.stack([frames[i].rgb for i in indices]))
                pooled = self._model.features(batch)
                logits = self._model._fc(pooled)
                feats[indices] = torch.nn.functional.normalize(pooled, dim=1).numpy()
                probs[indices] = torch.softmax(logits, dim=1).numpy()
        return feats, probs

    def embed(self, frames: list[SampledFrame]) -> MediaEmbedding:
        feats, probs = self.frame_outputs(frames)
        mean_feat = feats.mean(axis=0)
        mean_feat /= max(float(np.linalg.norm(mean_feat)), 1e-8)
        return MediaEmbedding(
            features=mean_feat,
            imagenet_probs=probs.mean(axis=0),
            frame_probs=probs,
            frame_times_s=tuple(f.time_s for f in frames),
        )
