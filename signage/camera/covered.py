"""A covered lens: a picture that stays dark, or uniform, for a while (a hand, tape, a cap, a wall).

The capture stage feeds it a few frames a second; each becomes a 32x24 grey thumbnail (about a
millisecond) whose mean and standard deviation of luminance decide whether it looks covered. Only
these two numbers are kept: the frame itself is never stored or written anywhere.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from signage.camera.base import RGBImage

log = logging.getLogger(__name__)

THUMB_SIZE = (32, 24)  # width, height of the grey thumbnail the statistics are taken on
SAMPLE_EVERY_S = 0.25  # at most four looks a second, whatever the camera's frame rate
# Dark and flat: a lens covered in a lit room still lets some light and sensor noise through.
DARK_MEAN = 40.0  # grey levels (0-255)
DARK_STD = 6.0
# Flat at any brightness: a uniform surface held against the lens (paper, a sticker, a wall).
FLAT_STD = 3.0
COVERED_AFTER_S = 10.0  # a covered-looking picture for this long is reported (a passing hand is not)
CLEARED_AFTER_S = 2.0  # a normal picture for this long ends it


@dataclass(frozen=True)
class Luminance:
    mean: float
    std: float

    @property
    def looks_covered(self) -> bool:
        return (self.std < DARK_STD and self.mean < DARK_MEAN) or self.std < FLAT_STD


def luminance(image: RGBImage) -> Luminance:
    """Mean and standard deviation of the luminance of ``image`` (RGB), on a 32x24 thumbnail."""
    thumb = cv2.resize(image, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(thumb, cv2.COLOR_RGB2GRAY)
    values = np.asarray(grey, dtype=np.float32)
    return Luminance(mean=float(values.mean()), std=float(values.std()))


class CoverWatch:
    """Decides, from frames and their times, whether the picture has been covered (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._covered = False
        self._last_sample: float | None = None
        self._dark_since: float | None = None  # first covered-looking sample of the current run
        self._normal_since: float | None = None  # first normal sample while covered

    @property
    def covered(self) -> bool:
        with self._lock:
            return self._covered

    def due(self, now: float) -> bool:
        """Whether a frame at ``now`` should be looked at (at most every ``SAMPLE_EVERY_S``)."""
        with self._lock:
            return self._last_sample is None or now - self._last_sample >= SAMPLE_EVERY_S

    def observe(self, image: RGBImage, now: float) -> None:
        """Look at one frame captured at ``now``; logs once when the covered state changes."""
        self.observe_luminance(luminance(image), now)

    def observe_luminance(self, stats: Luminance, now: float) -> None:
        dark = stats.looks_covered
        with self._lock:
            self._last_sample = now
            if not self._covered:
                self._normal_since = None
                if not dark:
                    self._dark_since = None
                    return
                if self._dark_since is None:
                    self._dark_since = now
                if now - self._dark_since < COVERED_AFTER_S:
                    return
                self._covered = True
            else:
                self._dark_since = None
                if dark:
                    self._normal_since = None
                    return
                if self._normal_since is None:
                    self._normal_since = now
                if now - self._normal_since < CLEARED_AFTER_S:
                    return
                self._covered = False
            covered = self._covered
        if covered:
            log.warning(
                "camera picture covered or black for %.0f s (luminance mean %.0f, spread %.1f)",
                COVERED_AFTER_S,
                stats.mean,
                stats.std,
            )
        else:
            log.info("camera picture back")

    def reset(self) -> None:
        """Forget the picture (the camera went offline: offline is its own state, said on its own)."""
        with self._lock:
            was_covered = self._covered
            self._covered = False
            self._last_sample = None
            self._dark_since = None
            self._normal_since = None
        if was_covered:
            log.debug("camera picture no longer judged: the camera went offline while covered")
