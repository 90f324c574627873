"""On-screen text of a creative (end cards, product names), read with Tesseract when it is installed.

Tesseract is an optional system package (Debian ``tesseract-ocr``); without it the classifier simply
uses pictures and the catalog text. Frames go to Tesseract through a pipe, never through a file.
Text needs more pixels than the image model, so OCR reads a few frames at 720 px, not the 224 px ones.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

import cv2

from classifier.subjects.frames import MediaError, sample_frames

log = logging.getLogger(__name__)

_WORD = re.compile(r"[A-Za-z][A-Za-z'&-]{2,}")


def clean_text(raw: str) -> str:
    """Keep word-like tokens only: OCR of photos yields stray symbols that would mislead the text model."""
    return " ".join(_WORD.findall(raw))


class OcrEngine:
    def __init__(self, executable: str, *, max_frames: int = 3, short_side: int = 720) -> None:
        self._exe = executable
        self._max_frames = max_frames
        self._short_side = short_side

    @classmethod
    def find(cls) -> OcrEngine | None:
        exe = shutil.which("tesseract")
        return cls(exe) if exe else None

    def read_rgb(self, rgb: object) -> str:
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))  # type: ignore[call-overload]
        if not ok:
            return ""
        try:
            proc = subprocess.run(
                [self._exe, "stdin", "stdout", "--psm", "11", "-l", "eng"],
                input=png.tobytes(),
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("tesseract failed: %s", exc)
            return ""
        return clean_text(proc.stdout.decode("utf-8", "replace"))

    def read(self, path: Path) -> str:
        try:
            frames = sample_frames(path, max_frames=self._max_frames, short_side=self._short_side)
        except MediaError:
            return ""
        words: list[str] = []
        for frame in frames:
            words += self.read_rgb(frame.rgb).split()
        return " ".join(dict.fromkeys(words))  # first occurrence order, repeats across frames dropped
