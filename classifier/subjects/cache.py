"""Evidence of ad creatives kept on disk, keyed by the media checksum (never by the file name).

Confirmed ads feed the learned head every time tagging runs, and OCR costs most of a second per
frame; re-reading each of them would waste time. Only advertising media is cached here (frame
features, ImageNet probabilities and the text read), never anything from the camera.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from classifier.subjects.classifier import Evidence
from classifier.subjects.ocr import TextLine
from classifier.subjects.types import MediaEmbedding

log = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EvidenceStore:
    def __init__(self, folder: Path, variant: str) -> None:
        self._folder = folder
        self._variant = variant  # sampling/OCR settings; a change invalidates old entries

    def _path(self, sha256: str) -> Path:
        return self._folder / f"evidence-{sha256[:32]}-{self._variant}.npz"

    def get(self, sha256: str) -> Evidence | None:
        path = self._path(sha256)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                embedding = MediaEmbedding(
                    features=data["features"],
                    imagenet_probs=data["imagenet_probs"],
                    frame_probs=data["frame_probs"],
                    frame_times_s=tuple(float(t) for t in data["frame_times_s"]),
                )
                lines = tuple(
                    TextLine(str(t), float(c), float(h), float(s))
                    for t, c, h, s in zip(
                        data["line_text"],
                        data["line_conf"],
                        data["line_height"],
                        data["line_time"],
                        strict=True,
                    )
                )
                return Evidence(embedding, lines, float(data["duration_s"]))
        except (OSError, ValueError, KeyError):
            log.warning("evidence cache %s is unreadable; recomputing it", path)
            return None

    def put(self, sha256: str, evidence: Evidence) -> None:
        e, lines = evidence.embedding, evidence.lines
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".npz", dir=self._folder)
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    features=e.features,
                    imagenet_probs=e.imagenet_probs,
                    frame_probs=e.frame_probs,
                    frame_times_s=np.asarray(e.frame_times_s, np.float64),
                    line_text=np.array([ln.text for ln in lines], dtype=str),
                    line_conf=np.array([ln.confidence for ln in lines], np.float64),
                    line_height=np.array([ln.height for ln in lines], np.float64),
                    line_time=np.array([ln.time_s for ln in lines], np.float64),
                    duration_s=np.array(evidence.duration_s),
                )
            os.replace(tmp, self._path(sha256))
        except OSError as exc:
            log.warning("cannot write the evidence cache in %s: %s", self._folder, exc)
