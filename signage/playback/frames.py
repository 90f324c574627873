"""The memory VLC decodes into: the frame buffers of one clip, and the malloc tuning that keeps
large blocks from piling up in the arenas of VLC's short-lived threads. No VLC type here."""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt

BGRA = npt.NDArray[np.uint8]  # H x W x 4, the byte order of VLC's RV32 on little-endian machines

# glibc's mallopt() parameters (with the environment variables that override them) and the
# value both start at in glibc.
_MALLOPT = {-1: "MALLOC_TRIM_THRESHOLD_", -3: "MALLOC_MMAP_THRESHOLD_"}  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
MALLOC_THRESHOLD_BYTES = 128 * 1024


def pin_malloc_thresholds() -> bool:
    """Fix glibc's mmap and trim thresholds (process-wide) at their initial 128 KiB, so that every
    large block (VLC's decoded pictures, frame buffers) is mapped on its own and goes back to the OS
    when freed, and free memory at the top of a heap is returned too.

    By default glibc raises both each time a large mapped block is freed; VLC frees several per clip,
    after which they come from the malloc arenas of VLC's short-lived threads, which fragment and are
    no longer trimmed: RSS climbed 170-230 KB per play (bench/playback_memory.py). Setting only the
    mmap threshold once the process had run a while was not enough: the raised trim threshold stays.
    False where they cannot be set (not glibc); a threshold the operator set in the environment stays.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    pinned = [
        bool(mallopt(param, MALLOC_THRESHOLD_BYTES))
        for param, env in _MALLOPT.items()
        if env not in os.environ
    ]
    return all(pinned)


def _frame_buffer(width: int, height: int) -> BGRA:
    """A zeroed BGRA frame in its own anonymous memory map, unmapped as soon as the array is dropped.

    Not from malloc: these are allocated on VLC's threads, and with glibc's default tuning (see
    ``pin_malloc_thresholds``) freed ones stayed in those threads' arenas: RSS grew ~20 MB per play.
    """
    pixels = mmap.mmap(-1, width * height * 4)
    return np.frombuffer(pixels, np.uint8).reshape(height, width, 4)


class FrameBuffers:
    """What VLC's decoder threads touch: the frame buffers and counters, behind one lock.

    The ctypes frame callbacks are bound to this object, never to the ``VideoClip``, so nothing
    VLC holds can keep a clip alive; ``VideoClip.release`` drops the buffers once VLC has stopped.
    """

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.lock = threading.Lock()
        self._back: BGRA | None = None
        # Where VLC decodes to (_back's first byte), computed once per format and not through
        # ndarray.ctypes: called on VLC's threads, that left ~3 objects behind per clip (tracemalloc).
        self._back_address = 0
        # Three display buffers: one published, one the main thread is drawing, one being filled.
        self._ring: list[BGRA] = []
        self._published = -1
        self._in_use = -1
        self.displayed = 0
        self.first_mono: float | None = None
        self.last_mono: float | None = None

    def format(self, _opaque: Any, chroma: int, width: Any, height: Any, pitches: Any, lines: Any) -> int:
        w, h = self.size
        ctypes.memmove(chroma, b"RV32", 4)
        width[0], height[0], pitches[0], lines[0] = w, h, w * 4, h
        with self.lock:
            self._back = _frame_buffer(w, h)
            self._back_address = self._back.__array_interface__["data"][0]
            self._ring = [_frame_buffer(w, h) for _ in range(3)]
            self._published = self._in_use = -1
        return 1

    def lock_picture(self, _opaque: Any, planes: Any) -> None:
        assert self._back is not None
        planes[0] = self._back_address
        return None

    def unlock_picture(self, _opaque: Any, _picture: Any, _planes: Any) -> None:
        return None

    def display(self, _opaque: Any, _picture: Any) -> None:
        # Copy at display time (not decode time) so the main thread shows each frame when it is due.
        now = time.monotonic()
        with self.lock:
            if self._back is None or not self._ring:
                return
            free = next(i for i in range(3) if i not in (self._published, self._in_use))
        np.copyto(self._ring[free], self._back)  # outside the lock: the main thread never reads `free`
        with self.lock:
            self._published = free
            self.displayed += 1
            if self.first_mono is None:
                self.first_mono = now
            self.last_mono = now

    def latest(self, seen: int) -> tuple[int, BGRA] | None:
        with self.lock:
            if self.displayed <= seen or self._published < 0:
                return None
            self._in_use = self._published
            return self.displayed, self._ring[self._in_use]

    def drop(self) -> None:
        """Free the buffers (VLC has stopped: no callback can run any more)."""
        with self.lock:
            self._back = None
            self._back_address = 0
            self._ring = []
            self._published = self._in_use = -1
