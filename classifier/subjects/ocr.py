"""On-screen text of a creative (headlines, end cards, product names), read with RapidOCR.

``rapidocr`` 3.10.0 ships the PP-OCRv6 detection and recognition networks (ONNX) inside its wheel
and runs them with ONNX Runtime on the CPU; nothing is downloaded. It reads styled text over photos,
which is what ads have. Recognition is the costly half (an 18,000-symbol multilingual model), so
only the biggest text boxes of a frame are read: a headline or a brand name is big, legal small
print is not. Frames arrive already downscaled; none is written anywhere.

rapidocr declares ``opencv-python-headless``, which would overwrite the project's
``opencv-contrib-python``; the Makefile installs it with ``--no-deps`` (see the README).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from classifier.subjects.types import SampledFrame

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z][A-Za-z'&-]{2,}")
# Frames are read with their long side at most this many pixels (more only costs time: the
# detector's own input is capped at the same size).
MAX_SIDE = 960
MAX_LINES = 12  # biggest boxes per frame that are recognised
MIN_CONFIDENCE = 0.5  # recognition score below which a line is dropped


def clean_text(raw: str) -> str:
    """Keep word-like tokens only: OCR of photos yields stray symbols that would mislead the text model."""
    return " ".join(_WORD.findall(raw))


@dataclass(frozen=True)
class TextLine:
    """One line of on-screen text: what it says, how sure the recogniser is, how big it is."""

    text: str
    confidence: float
    height: float  # box height over frame height: headlines are tall
    time_s: float


def _box_height(box: np.ndarray) -> float:
    pts = np.asarray(box, np.float32)
    return float((np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])) / 2.0)


class OcrEngine:
    """RapidOCR's detector and recogniser on RGB frames; one frame at a time, thread-safe."""

    def __init__(self, threads: int = 2, *, max_side: int = MAX_SIDE, max_lines: int = MAX_LINES) -> None:
        from rapidocr import RapidOCR

        self._max_side = max_side
        self._max_lines = max_lines
        self._engine: Any = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                "Det.limit_type": "max",
                "Det.limit_side_len": max_side,
                "Rec.rec_batch_num": max_lines,
            }
        )
        self._lock = threading.Lock()

    @classmethod
    def find(cls, threads: int = 2) -> OcrEngine | None:
        """The engine, or None (with a warning) when rapidocr/onnxruntime are not installed."""
        try:
            return cls(threads)
        except ImportError as exc:
            log.warning("on-screen text is not read: %s (run make setup)", exc)
            return None

    def read_rgb(self, rgb: np.ndarray, time_s: float = 0.0) -> list[TextLine]:
        from rapidocr.ch_ppocr_rec.typings import TextRecInput
        from rapidocr.utils.process_img import get_rotate_crop_image

        height, width = rgb.shape[:2]
        scale = min(1.0, self._max_side / max(height, width))
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        with self._lock:
            det = self._engine._load_det_model()(bgr)
            if det.boxes is None or len(det.boxes) == 0:
                return []
            boxes = sorted(det.boxes, key=_box_height, reverse=True)[: self._max_lines]
            crops = [get_rotate_crop_image(bgr, np.array(b, np.float32)) for b in boxes]
            rec = self._engine._load_rec_model()(TextRecInput(img=crops))
        lines = []
        for box, text, score in zip(boxes, rec.txts or (), rec.scores, strict=False):
            text = " ".join(str(text).split())
            if text and float(score) >= MIN_CONFIDENCE:
                lines.append(TextLine(text, float(score), _box_height(box) / bgr.shape[0], time_s))
        return lines

    def read(self, frames: Sequence[SampledFrame]) -> list[TextLine]:
        """Lines of every frame; a line repeated on several frames is kept once (its best read)."""
        best: dict[str, TextLine] = {}
        for frame in frames:
            for line in self.read_rgb(frame.rgb, frame.time_s):
                key = line.text.lower()
                if key not in best or line.confidence > best[key].confidence:
                    best[key] = line
        return list(best.values())
