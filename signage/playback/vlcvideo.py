"""The VLC adapter: one video clip decoded by libvlc, either into a numpy buffer (frame callbacks,
for headless/dummy displays) or straight into an X11 window. No VLC type leaves this module."""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import vlc

log = logging.getLogger(__name__)

BGRA = npt.NDArray[np.uint8]  # H x W x 4, the byte order of VLC's RV32 on little-endian machines

# python-vlc declares the chroma as c_char_p, which ctypes turns into an immutable bytes copy; we
# must write "RV32" through the real pointer, so the callback is declared with c_void_p and cast.
_FormatCb = ctypes.CFUNCTYPE(
    ctypes.c_uint,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
)


class MediaError(Exception):
    """A media file cannot be played; the message is one sentence for the operator."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # as the container says; 0 when unknown

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps > 0 and self.frames > 0 else 0.0


def probe_video(path: Path) -> VideoInfo:
    """Open ``path`` and decode its first frame; raise MediaError saying why it cannot be played.

    libvlc 3 hands the format callback the decoder's padded height (240 becomes 256), so the true
    picture size for letterboxing comes from this probe instead.
    """
    if not path.is_file():
        raise MediaError(f"video file {path} does not exist.")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(f"video file {path} cannot be opened (corrupt or unsupported format).")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise MediaError(f"video file {path} has no decodable picture (corrupt or truncated).")
        height, width = frame.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return VideoInfo(width, height, fps if 0 < fps < 1000 else 0.0, max(frames, 0))


def fit_size(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The largest size with ``src``'s aspect ratio inside ``box`` (letterbox, never stretch); even sides."""
    scale = min(box[0] / src[0], box[1] / src[1])
    return max(2, int(src[0] * scale) & ~1), max(2, int(src[1] * scale) & ~1)


def sound_device_present() -> bool:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return (
        Path("/dev/snd").is_dir()
        or bool(os.environ.get("PULSE_SERVER"))
        or (bool(runtime) and Path(runtime, "pulse", "native").exists())
    )


def make_instance(draw_into_window: bool, sound: bool) -> vlc.Instance:
    args = ["--quiet", "--no-video-title-show", "--no-snapshot-preview", "--no-osd", "--no-xlib"]
    if not draw_into_window:
        # Hardware decoders only add failed format negotiations when frames come back to us.
        args.append("--avcodec-hw=none")
    if not sound:
        args.append("--aout=dummy")
    instance = vlc.Instance(args)
    if instance is None:
        raise MediaError("libvlc could not start; install the Debian packages libvlc5 and vlc-plugin-base.")
    return instance


class VideoClip:
    """One video, ready to play. Created paused at its start (``:start-paused``) so that ``play``
    only has to resume: this is what keeps the switch between two ads within a frame.

    Callback mode (``box`` given): VLC scales into a BGRA buffer that fits ``box``; ``latest`` hands
    the newest displayed frame to the main thread. Window mode (``xwindow`` given): VLC draws itself.
    """

    def __init__(
        self,
        instance: vlc.Instance,
        path: Path,
        info: VideoInfo,
        *,
        box: tuple[int, int] | None = None,
        xwindow: int | None = None,
    ) -> None:
        self.path = path
        self.info = info
        self.size = fit_size((info.width, info.height), box) if box else (info.width, info.height)
        self._lock = threading.Lock()
        self._back: BGRA | None = None
        # Three display buffers: one published, one the main thread is drawing, one being filled.
        self._ring: list[BGRA] = []
        self._published = -1
        self._in_use = -1
        self.frames_displayed = 0
        self.first_frame_mono: float | None = None
        self.last_frame_mono: float | None = None
        self.resumed_mono: float | None = None
        self.playing = threading.Event()
        self.ended = threading.Event()
        self.error = threading.Event()
        self._player = instance.media_player_new()
        media = instance.media_new_path(str(path))
        media.add_option(":start-paused")
        self._player.set_media(media)
        media.release()
        if xwindow is not None:
            self._player.set_xwindow(xwindow)
        else:
            self._install_callbacks()
        events = self._player.event_manager()
        events.event_attach(vlc.EventType.MediaPlayerPlaying, self._on_event, "playing")
        events.event_attach(vlc.EventType.MediaPlayerEndReached, self._on_event, "ended")
        events.event_attach(vlc.EventType.MediaPlayerEncounteredError, self._on_event, "error")
        if self._player.play() != 0:
            raise MediaError(f"VLC refused to open video file {path}.")

    # -- VLC threads -------------------------------------------------------------------------
    def _install_callbacks(self) -> None:
        # Keep references: ctypes callbacks freed while VLC still holds them crash the process.
        self._cb_format = _FormatCb(self._format)
        self._cb_lock = vlc.CallbackDecorators.VideoLockCb(self._lock_cb)
        self._cb_unlock = vlc.CallbackDecorators.VideoUnlockCb(self._unlock_cb)
        self._cb_display = vlc.CallbackDecorators.VideoDisplayCb(self._display_cb)
        self._player.video_set_callbacks(self._cb_lock, self._cb_unlock, self._cb_display, None)
        self._player.video_set_format_callbacks(
            ctypes.cast(self._cb_format, vlc.CallbackDecorators.VideoFormatCb), None
        )

    def _format(self, _opaque: Any, chroma: int, width: Any, height: Any, pitches: Any, lines: Any) -> int:
        w, h = self.size
        ctypes.memmove(chroma, b"RV32", 4)
        width[0], height[0], pitches[0], lines[0] = w, h, w * 4, h
        with self._lock:
            self._back = np.zeros((h, w, 4), np.uint8)
            self._ring = [np.zeros((h, w, 4), np.uint8) for _ in range(3)]
            self._published = self._in_use = -1
        return 1

    def _lock_cb(self, _opaque: Any, planes: Any) -> None:
        assert self._back is not None
        planes[0] = self._back.ctypes.data
        return None

    def _unlock_cb(self, _opaque: Any, _picture: Any, _planes: Any) -> None:
        return None

    def _display_cb(self, _opaque: Any, _picture: Any) -> None:
        # Copy at display time (not decode time) so the main thread shows each frame when it is due.
        now = time.monotonic()
        with self._lock:
            if self._back is None or not self._ring:
                return
            free = next(i for i in range(3) if i not in (self._published, self._in_use))
        np.copyto(self._ring[free], self._back)  # outside the lock: the main thread never reads `free`
        with self._lock:
            self._published = free
            self.frames_displayed += 1
            if self.first_frame_mono is None:
                self.first_frame_mono = now
            self.last_frame_mono = now

    def _on_event(self, _event: vlc.Event, kind: str) -> None:
        {"playing": self.playing, "ended": self.ended, "error": self.error}[kind].set()

    # -- main thread -------------------------------------------------------------------------
    def play(self) -> None:
        """Resume from the prepared pause; calling it again is harmless."""
        if self.resumed_mono is None:
            self.resumed_mono = time.monotonic()
            self._player.set_pause(0)

    def expected_end_mono(self) -> float | None:
        """When the last frame's period ends, extrapolated from the frames shown so far."""
        info, last = self.info, self.last_frame_mono
        if last is None or info.frames <= 0 or info.fps <= 0:
            return None
        return last + (max(info.frames - self.frames_displayed, 0) + 1) / info.fps

    def latest(self, seen: int) -> tuple[int, BGRA] | None:
        """(frame number, newest frame) when newer than ``seen``; else None.

        The array stays untouched by VLC until the next call, so it can be drawn without a copy.
        """
        with self._lock:
            if self.frames_displayed <= seen or self._published < 0:
                return None
            self._in_use = self._published
            return self.frames_displayed, self._ring[self._in_use]

    def has_picture(self) -> bool:
        """In window mode VLC reports no frames to us; an open video output is the sign."""
        return self.frames_displayed > 0 or self._player.has_vout() > 0

    def time_s(self) -> float:
        return max(0.0, self._player.get_time() / 1000.0)

    def length_s(self) -> float:
        length = self._player.get_length()
        return length / 1000.0 if length > 0 else self.info.duration_s

    def set_notice(self, text: str) -> None:
        """The privacy notice as a VLC marquee: in window mode VLC covers anything pygame draws."""
        self._player.video_set_marquee_string(vlc.VideoMarqueeOption.Text, text)
        self._player.video_set_marquee_int(vlc.VideoMarqueeOption.Position, 8 | 2)  # bottom right
        # Marquee sizes are in source pixels: scale with the video so the notice stays discreet.
        self._player.video_set_marquee_int(vlc.VideoMarqueeOption.Size, max(8, self.info.height // 40))
        self._player.video_set_marquee_int(vlc.VideoMarqueeOption.Opacity, 200)
        self._player.video_set_marquee_int(vlc.VideoMarqueeOption.Enable, 1)

    def snapshot(self, path: Path) -> bool:
        """VLC's own copy of the picture it shows (window mode, where pygame cannot read it)."""
        return self._player.video_take_snapshot(0, str(path), 0, 0) == 0

    def release(self) -> None:
        # stop() joins VLC's threads; after it no callback can touch our buffers.
        self._player.stop()
        self._player.release()
