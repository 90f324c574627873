"""The real ``Player``: a pygame full-screen window on the main thread, VLC decoding the videos.

Two drawing paths, picked once at start-up and logged:

* ``callbacks`` (the default, and the only path without X): VLC hands decoded frames to us and
  ``pump`` blits them, so the switch between ads is gapless and frames are screenshot-able.
* ``window`` (``display.video_output: window`` on an X11 display): VLC draws into the pygame
  window itself (``set_xwindow``): cheaper for 4K video, but a new clip may flash black.

The screen surface keeps its last picture until a new one is drawn: a new item never blanks the
screen before its own first frame is ready, and a skipped item leaves the previous picture up.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pygame

from signage.domain import STANDBY_ID, Ad, MediaKind, PlayOutcome
from signage.playback.base import PlayResult
from signage.playback.frames import pin_malloc_thresholds
from signage.playback.slides import (
    BACKGROUND,
    alert_slide,
    black_slide,
    generated_standby,
    load_still,
    privacy_badge,
)
from signage.playback.vlcvideo import (
    MediaError,
    VideoClip,
    make_instance,
    probe_video,
    sound_device_present,
)
from signage.reloader import Stamp, stamp_of
from signage.settings import DisplaySettings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 5.0  # a video that shows no frame by then is skipped
OVERRUN_GRACE_S = 10.0  # a video still "playing" this long after its length has stalled
# Resuming a prepared clip takes tens of ms before its first frame (more on a loaded machine), so
# the next clip is resumed this much before the current one's last frame period ends; the figure
# adapts to what is measured (moving average of resume-to-first-frame latencies).
INITIAL_RESUME_LATENCY_S = 0.06


@dataclass
class _Slot:
    """What is on screen now (mutable, private to this module)."""

    ad_id: str
    planned_s: float
    requested_mono: float
    clip: VideoClip | None = None
    still: pygame.Surface | None = None
    shown_mono: float | None = None
    seen: int = 0
    dark: bool = False  # black outside opening hours: no notice drawn, the display may sleep


_Prepared = VideoClip | pygame.Surface | MediaError


class PygamePlayer:
    def __init__(
        self,
        display: DisplaySettings,
        *,
        standby: Path | Callable[[], Path | None] | None = None,
        headless: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
            os.environ["SDL_AUDIODRIVER"] = "dummy"
        self._clock = clock
        pygame.display.init()
        pygame.font.init()
        if display.fullscreen:
            self._screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        else:
            self._screen = pygame.display.set_mode((display.width, display.height))
        pygame.display.set_caption("signage")
        pygame.mouse.set_visible(False)
        # Under the dummy driver FULLSCREEN means 1024x768 whatever was asked: trust the surface.
        self.size: tuple[int, int] = self._screen.get_size()
        wm = pygame.display.get_wm_info()
        draws_itself = display.video_output == "window" and pygame.display.get_driver() == "x11"
        self._xwindow: int | None = wm.get("window") if draws_itself else None
        self.mode = "window" if self._xwindow else "callbacks"
        sound = sound_device_present()
        pin_malloc_thresholds()  # before VLC's first allocations: its big blocks must not fragment the heap
        self._vlc = make_instance(draw_into_window=self._xwindow is not None, sound=sound)
        log.info(
            "player: %dx%d on SDL driver %s, VLC draws via %s, sound %s",
            self.size[0],
            self.size[1],
            pygame.display.get_driver(),
            self.mode,
            "on" if sound else "off (no sound device)",
        )
        self._notice_text = display.privacy_notice_text if display.privacy_notice else ""
        self._badge = privacy_badge(self._notice_text, self.size) if self._notice_text else None
        # A callable follows the live catalog, so an edited or replaced standby slide shows without a restart.
        self._standby_source: Callable[[], Path | None] = standby if callable(standby) else (lambda: standby)
        self._standby: pygame.Surface | None = None
        self._standby_key: tuple[Path | None, Stamp] | None = None
        self._prepared: dict[tuple[str, Path], _Prepared] = {}
        self._slot: _Slot | None = None
        self._pending: PlayResult | None = None
        self._retiring: list[VideoClip] = []
        self._reported: set[str] = set()
        self.quit_requested = False
        self.frames_blitted = 0  # video frames drawn by pump (callbacks mode), for the benchmarks
        self.frames_delivered = 0  # video frames VLC handed over, counted when each clip ends
        self.resume_latency_s = INITIAL_RESUME_LATENCY_S
        self._sleep_allowed = False  # SDL keeps the display awake (screen saver, DPMS) unless allowed
        self._draw(self._standby_surface())  # never start on a black window

    # -- loading -------------------------------------------------------------------------------
    def prepare(self, ad: Ad) -> None:
        key = (ad.ad_id, ad.media)
        if key in self._prepared:
            return
        self._prepared[key] = self._load(ad)
        while len(self._prepared) > 2:  # only the next item or two are worth holding decoders for
            stale = self._prepared.pop(next(iter(self._prepared)))
            if isinstance(stale, VideoClip):
                stale.release()

    def _load(self, ad: Ad) -> _Prepared:
        try:
            if ad.kind is MediaKind.IMAGE:
                return load_still(ad.media, self.size)
            info = probe_video(ad.media)
            if self._xwindow is not None:
                clip = VideoClip(self._vlc, ad.media, info, xwindow=self._xwindow)
                if self._notice_text:
                    clip.set_notice(self._notice_text)
                return clip
            return VideoClip(self._vlc, ad.media, info, box=self.size)
        except MediaError as exc:
            return exc

    def _standby_surface(self) -> pygame.Surface:
        path = self._standby_source()
        key = (path, stamp_of(path) if path is not None else None)
        if self._standby is None or key != self._standby_key:
            self._standby_key = key
            self._standby = None
            if path is not None:
                try:
                    self._standby = load_still(path, self.size)
                except MediaError as exc:
                    self._report(f"standby slide unusable, showing the built-in one: {exc}")
            if self._standby is None:
                self._standby = generated_standby(self.size)
        return self._standby

    def _report(self, message: str) -> None:
        if message not in self._reported:  # a broken standby slide is reported once, not every slot
            self._reported.add(message)
            log.warning("%s", message)

    # -- the state machine ---------------------------------------------------------------------
    def start(self, ad: Ad) -> None:
        self._end_slot()
        self._pending = None
        prepared = self._prepared.pop((ad.ad_id, ad.media), None) or self._load(ad)
        self._silence_resumed()
        now = self._clock()
        if isinstance(prepared, MediaError):
            # Not logged here: the loop reports each skip once (it knows when an ad gets a new chance).
            self._pending = PlayResult(ad.ad_id, PlayOutcome.SKIPPED, 0.0, str(prepared))
            return
        if isinstance(prepared, VideoClip):
            self._allow_sleep(False)
            self._slot = _Slot(ad.ad_id, ad.duration_s, now, clip=prepared)
            prepared.play()
        else:
            self._show_still(_Slot(ad.ad_id, ad.duration_s, now, still=prepared))

    def show_standby(self, seconds: float) -> None:
        self._end_slot()
        self._pending = None
        self._show_still(_Slot(STANDBY_ID, seconds, self._clock(), still=self._standby_surface()))

    def _silence_resumed(self) -> None:
        for key, other in list(self._prepared.items()):
            if isinstance(other, VideoClip) and other.resumed_mono is not None:
                del self._prepared[key]  # resumed early for a switch that did not happen: silence it
                other.release()

    def show_message(self, item_id: str, text: str, image: Path | None, seconds: float) -> None:
        self._end_slot()
        self._silence_resumed()  # an alert may cut in just as the next clip was resumed
        self._pending = None
        picture = None
        if image is not None:
            try:
                picture = pygame.image.load(str(image))
            except (pygame.error, OSError, ValueError) as exc:
                self._report(f"picture {image} of {item_id} cannot be shown, the text is shown alone: {exc}")
        still = alert_slide(text, self.size, picture)
        self._show_still(_Slot(item_id, seconds, self._clock(), still=still))

    def show_black(self, item_id: str, seconds: float) -> None:
        self._end_slot()
        self._silence_resumed()
        self._pending = None
        self._show_still(_Slot(item_id, seconds, self._clock(), still=black_slide(self.size), dark=True))

    def _show_still(self, slot: _Slot) -> None:
        assert slot.still is not None
        self._slot = slot
        self._allow_sleep(slot.dark)
        self._draw(slot.still, badge=not slot.dark)
        slot.shown_mono = self._clock()
        self._release_retiring()

    def _allow_sleep(self, allow: bool) -> None:
        # SDL resets the X screen saver every 30 s, which would wake a display DPMS switched off.
        if allow != self._sleep_allowed:
            self._sleep_allowed = allow
            pygame.display.set_allow_screensaver(allow)

    def pump(self) -> PlayResult | None:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.quit_requested = True
            elif event.type in (pygame.VIDEOEXPOSE, pygame.WINDOWEXPOSED):
                pygame.display.flip()
        if self._pending is not None:
            result, self._pending = self._pending, None
            return result
        slot = self._slot
        if slot is None:
            return None
        if slot.clip is not None:
            return self._pump_video(slot, slot.clip)
        assert slot.shown_mono is not None
        if self._clock() - slot.shown_mono >= slot.planned_s:
            return self._finish(PlayOutcome.COMPLETED)
        return None

    def _pump_video(self, slot: _Slot, clip: VideoClip) -> PlayResult | None:
        frame = clip.latest(slot.seen)
        if frame is not None:
            slot.seen, pixels = frame
            picture = pygame.image.frombuffer(pixels.data, clip.size, "BGRA")
            picture.set_alpha(None)  # RV32's fourth byte is padding, not opacity: copy, do not blend
            self._draw(picture, clear=slot.shown_mono is None)
            self.frames_blitted += 1
        ready = slot.seen > 0 if self._xwindow is None else clip.has_picture()
        if slot.shown_mono is None and ready:
            slot.shown_mono = self._clock()
            self._release_retiring()
            if clip.first_frame_mono is not None and clip.resumed_mono is not None:
                latency = min(0.3, max(0.0, clip.first_frame_mono - clip.resumed_mono))
                self.resume_latency_s = 0.7 * self.resume_latency_s + 0.3 * latency
        if clip.error.is_set() or (clip.ended.is_set() and slot.shown_mono is None):
            return self._finish(PlayOutcome.SKIPPED, f"VLC could not decode video file {clip.path}.")
        now = self._clock()
        if slot.shown_mono is None:
            if now - slot.requested_mono > START_TIMEOUT_S:
                return self._finish(
                    PlayOutcome.SKIPPED,
                    f"video file {clip.path} showed no picture within {START_TIMEOUT_S:g} s.",
                )
            return None
        following = self._next_clip()
        end = clip.expected_end_mono()
        if following is not None and end is not None and now >= end - self.resume_latency_s:
            following.play()
        if clip.ended.is_set() or self._last_frame_done(clip, now, following):
            return self._finish(PlayOutcome.COMPLETED)
        if now - slot.shown_mono > max(slot.planned_s, clip.length_s()) + OVERRUN_GRACE_S:
            return self._finish(PlayOutcome.INTERRUPTED, f"video file {clip.path} stalled and was stopped.")
        return None

    def _next_clip(self) -> VideoClip | None:
        """The video prepared most recently: the loop's next ad."""
        for prepared in reversed(self._prepared.values()):
            return prepared if isinstance(prepared, VideoClip) else None
        return None

    @staticmethod
    def _last_frame_done(clip: VideoClip, now: float, following: VideoClip | None) -> bool:
        """The final frame has had its period on screen, or the next clip already has a picture.

        VLC's EndReached comes a frame or more after the last picture; ending here instead keeps
        the switch within one frame. A container that lies about its frame count ends on EndReached.
        """
        end = clip.expected_end_mono()
        if end is None or clip.frames_displayed < clip.info.frames:
            return False
        return now >= end or (following is not None and following.frames_displayed > 0)

    def _finish(self, outcome: PlayOutcome, reason: str = "") -> PlayResult:
        slot = self._slot
        assert slot is not None
        shown = 0.0 if slot.shown_mono is None else self._clock() - slot.shown_mono
        self._end_slot()
        return PlayResult(slot.ad_id, outcome, shown, reason)

    def _end_slot(self) -> None:
        # The clip is released only once the next picture is up: stop() joins VLC threads, which
        # would otherwise sit between the last frame of one ad and the first of the next.
        if self._slot is not None and self._slot.clip is not None:
            self.frames_delivered += self._slot.clip.frames_displayed
            self._retiring.append(self._slot.clip)
        self._slot = None

    def _release_retiring(self) -> None:
        while self._retiring:
            self._retiring.pop().release()
        if self._xwindow is not None:
            pygame.display.flip()  # the closed VLC video window uncovers what pygame drew

    @property
    def showing(self) -> str | None:
        """The ad id on screen now ('standby' for the slide); None between items."""
        return self._slot.ad_id if self._slot is not None else None

    def remaining_s(self) -> float | None:
        slot = self._slot
        if slot is None:
            return None
        if slot.clip is not None:
            return max(0.0, slot.clip.length_s() - slot.clip.time_s())
        elapsed = 0.0 if slot.shown_mono is None else self._clock() - slot.shown_mono
        return max(0.0, slot.planned_s - elapsed)

    def stop_current(self, reason: str) -> PlayResult | None:
        if self._slot is None:
            return None
        result = self._finish(PlayOutcome.INTERRUPTED, reason)
        self._release_retiring()
        return result

    # -- drawing ------------------------------------------------------------------------------
    def _draw(self, picture: pygame.Surface, *, clear: bool = True, badge: bool = True) -> None:
        if clear:
            self._screen.fill(BACKGROUND)
        width, height = picture.get_size()
        self._screen.blit(picture, ((self.size[0] - width) // 2, (self.size[1] - height) // 2))
        if self._badge is not None and badge:
            margin = max(4, self.size[1] // 100)
            spot = (
                self.size[0] - self._badge.get_width() - margin,
                self.size[1] - self._badge.get_height() - margin,
            )
            self._screen.blit(self._badge, spot)
        pygame.display.flip()

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        slot = self._slot
        # In window mode VLC draws over our window; pygame's surface would show what lies under it.
        if (
            self._xwindow is not None
            and slot is not None
            and slot.clip is not None
            and slot.clip.snapshot(path)
        ):
            return
        pygame.image.save(self._screen, str(path))

    def close(self) -> None:
        self.stop_current("player closed.")
        for prepared in self._prepared.values():
            if isinstance(prepared, VideoClip):
                prepared.release()
        self._prepared.clear()
        self._release_retiring()
        self._vlc.release()
        pygame.display.quit()
