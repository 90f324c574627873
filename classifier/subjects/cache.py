"""Image embeddings of ad creatives kept on disk, keyed by the media checksum.

Confirmed ads feed the learned head every time tagging runs; re-decoding each of them would waste
seconds per ad. Only advertising media is cached here, never anything from the camera.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from classifier.subjects.types import MediaEmbedding

log = logging.getLogger(__name__)


class EmbeddingStore:
    def __init__(self, folder: Path, variant: str) -> None:
        self._folder = folder
        self._variant = variant  # sampling settings; a change invalidates old entries

    def _path(self, sha256: str) -> Path:
        return self._folder / f"media-{sha256[:32]}-{self._variant}.npz"

    def get(self, sha256: str) -> MediaEmbedding | None:
        path = self._path(sha256)
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                return MediaEmbedding(
                    features=data["features"],
                    imagenet_probs=data["imagenet_probs"],
                    frame_probs=data["frame_probs"],
                    frame_times_s=tuple(float(t) for t in data["frame_times_s"]),
                )
        except (OSError, ValueError, KeyError):
            log.warning("embedding cache %s is unreadable; recomputing it", path)
            return None

    def put(self, sha256: str, embedding: MediaEmbedding) -> None:
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".npz", dir=self._folder)
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    features=embedding.features,
                    imagenet_probs=embedding.imagenet_probs,
                    frame_probs=embedding.frame_probs,
                    frame_times_s=np.asarray(embedding.frame_times_s),
                )
            os.replace(tmp, self._path(sha256))
        except OSError as exc:
            log.warning("cannot write the embedding cache in %s: %s", self._folder, exc)
