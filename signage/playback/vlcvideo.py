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

import cv2
import vlc

from signage.playback.frames import BGRA, FrameBuffers

log = logging.getLogger(__name__)


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


def _set_flag(_event: vlc.Event, flag: threading.Event) -> None:
    flag.set()


class _Native:
    """One clip's libvlc player and everything VLC may call back into, but never the clip itself.

    From creation until ``close`` VLC may call the event handler and the frame callbacks at any time;
    ctypes frees a callback with its Python object and VLC calling a freed one crashes the process.
    So every open one is held in ``_OPEN`` rather than by its clip: a clip dropped without release()
    leaks its decoder instead of crashing, and a released clip leaves nothing behind.
    """

    def __init__(self, player: vlc.MediaPlayer, frames: FrameBuffers) -> None:
        self.player = player
        # Not player.event_manager(): python-vlc memoizes that in a class-level dict keyed by the
        # player, which would keep every player and event manager ever made.
        self.events = vlc.libvlc_media_player_event_manager(player)
        self.frames = frames
        self.callbacks: tuple[object, ...] = ()

    def close(self) -> None:
        self.player.stop()  # joins VLC's threads: no callback runs after this
        for event_type in _EVENTS:
            self.events.event_detach(event_type)
        if self.callbacks:
            self.player.video_set_callbacks(None, None, None, None)
            self.player.video_set_format_callbacks(None, None)
        self.player.release()
        self.frames.drop()
        self.callbacks = ()
        _OPEN.discard(self)


_OPEN: set[_Native] = set()
_EVENTS = {
    vlc.EventType.MediaPlayerPlaying: "playing",
    vlc.EventType.MediaPlayerEndReached: "ended",
    vlc.EventType.MediaPlayerEncounteredError: "error",
}


def live_clips() -> int:
    """Clips whose libvlc player is still open (created and not yet released)."""
    return len(_OPEN)


class VideoClip:
    """One video, ready to play. Created paused at its start (``:start-paused``) so that ``play``
    only has to resume: this is what keeps the switch between two ads within a frame.

    Callback mode (``box`` given): VLC scales into a BGRA buffer that fits ``box``; ``latest`` hands
    the newest displayed frame to the main thread. Window mode (``xwindow`` given): VLC draws itself.
    ``release`` must be called once the clip is done with (it is safe to call twice).
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
        self.resumed_mono: float | None = None
        self.playing = threading.Event()
        self.ended = threading.Event()
        self.error = threading.Event()
        self._frames = FrameBuffers(self.size)
        native = _Native(instance.media_player_new(), self._frames)
        _OPEN.add(native)
        self._native: _Native | None = native
        try:
            player = native.player
            media = instance.media_new_path(str(path))
            media.add_option(":start-paused")
            player.set_media(media)
            media.release()
            if xwindow is not None:
                player.set_xwindow(xwindow)
            else:
                self._install_callbacks(native)
            flags = {"playing": self.playing, "ended": self.ended, "error": self.error}
            for event_type, name in _EVENTS.items():
                native.events.event_attach(event_type, _set_flag, flags[name])
            if player.play() != 0:
                raise MediaError(f"VLC refused to open video file {path}.")
        except BaseException:
            self.release()
            raise

    @staticmethod
    def _install_callbacks(native: _Native) -> None:
        frames = native.frames
        fmt = _FormatCb(frames.format)
        lock = vlc.CallbackDecorators.VideoLockCb(frames.lock_picture)
        unlock = vlc.CallbackDecorators.VideoUnlockCb(frames.unlock_picture)
        display = vlc.CallbackDecorators.VideoDisplayCb(frames.display)
        native.callbacks = (fmt, lock, unlock, display)
        native.player.video_set_callbacks(lock, unlock, display, None)
        native.player.video_set_format_callbacks(ctypes.cast(fmt, vlc.CallbackDecorators.VideoFormatCb), None)

    def _player(self) -> vlc.MediaPlayer:
        if self._native is None:
            raise RuntimeError(f"the clip of {self.path} was already released")
        return self._native.player

    @property
    def frames_displayed(self) -> int:
        return self._frames.displayed

    @property
    def first_frame_mono(self) -> float | None:
        return self._frames.first_mono

    @property
    def last_frame_mono(self) -> float | None:
        return self._frames.last_mono

    # -- main thread -------------------------------------------------------------------------
    def play(self) -> None:
        """Resume from the prepared pause; calling it again is harmless."""
        if self.resumed_mono is None:
            self.resumed_mono = time.monotonic()
            self._player().set_pause(0)

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
        return self._frames.latest(seen)

    def has_picture(self) -> bool:
        """In window mode VLC reports no frames to us; an open video output is the sign."""
        return self.frames_displayed > 0 or self._player().has_vout() > 0

    def time_s(self) -> float:
        return max(0.0, self._player().get_time() / 1000.0)

    def length_s(self) -> float:
        length = self._player().get_length()
        return length / 1000.0 if length > 0 else self.info.duration_s

    def set_notice(self, text: str) -> None:
        """The privacy notice as a VLC marquee: in window mode VLC covers anything pygame draws."""
        player = self._player()
        player.video_set_marquee_string(vlc.VideoMarqueeOption.Text, text)
        player.video_set_marquee_int(vlc.VideoMarqueeOption.Position, 8 | 2)  # bottom right
        # Marquee sizes are in source pixels: scale with the video so the notice stays discreet.
        player.video_set_marquee_int(vlc.VideoMarqueeOption.Size, max(8, self.info.height // 40))
        player.video_set_marquee_int(vlc.VideoMarqueeOption.Opacity, 200)
        player.video_set_marquee_int(vlc.VideoMarqueeOption.Enable, 1)

    def snapshot(self, path: Path) -> bool:
        """VLC's own copy of the picture it shows (window mode, where pygame cannot read it)."""
        return self._player().video_take_snapshot(0, str(path), 0, 0) == 0

    @property
    def released(self) -> bool:
        return self._native is None

    def release(self) -> None:
        """Stop VLC (joining its threads), detach every callback, free the player and the frame
        buffers. Nothing VLC or python-vlc holds refers to the clip afterwards; calling it again is a no-op."""
        native, self._native = self._native, None
        if native is not None:
            native.close()
