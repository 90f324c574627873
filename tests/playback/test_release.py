"""Nothing outlives a released clip: not the clip, not its frame buffers, not its VLC player.

python-vlc keeps Python callbacks (event manager, frame callbacks) until they are detached; a clip
they still reach keeps four full-screen frame buffers (~9 MB a play) for the life of the process.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signage.domain import Ad, MediaKind, PlayOutcome
from signage.playback import vlcvideo
from signage.playback.base import PlayResult
from signage.playback.pygame_player import PygamePlayer
from signage.playback.vlcvideo import VideoClip, live_clips, make_instance, probe_video
from signage.settings import DisplaySettings

CLIPS = 8


@pytest.fixture
def instance() -> Iterator[Any]:
    vlc_instance = make_instance(draw_into_window=False, sound=False)
    yield vlc_instance
    vlc_instance.release()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[weakref.ref[Any]]:
    """Every VideoClip built during the test, held weakly, in the order they were built."""
    refs: list[weakref.ref[Any]] = []
    original = VideoClip.__init__

    def recording_init(self: VideoClip, *args: Any, **kwargs: Any) -> None:
        refs.append(weakref.ref(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(VideoClip, "__init__", recording_init)
    return refs


def _first_frame(clip: VideoClip) -> tuple[int, Any]:
    deadline = time.monotonic() + 10.0
    while (frame := clip.latest(0)) is None:
        assert time.monotonic() < deadline, "no frame came back from VLC"
        time.sleep(0.005)
    return frame


def _alive(refs: list[weakref.ref[Any]]) -> int:
    gc.collect()
    return sum(ref() is not None for ref in refs)


def test_released_clips_and_their_frame_buffers_are_collected(instance: Any, clips: dict[str, Path]) -> None:
    info = probe_video(clips["red"])
    open_before = live_clips()
    clip_refs: list[weakref.ref[Any]] = []
    buffer_refs: list[weakref.ref[Any]] = []
    for _ in range(CLIPS):
        clip = VideoClip(instance, clips["red"], info, box=(640, 480))
        clip.play()
        frame = _first_frame(clip)
        buffer_refs.append(weakref.ref(frame[1]))
        del frame
        clip.release()
        # The buffers go at release, even while something still holds the clip itself.
        assert clip.latest(0) is None and clip.released
        clip_refs.append(weakref.ref(clip))
        del clip
    assert _alive(clip_refs) == 0
    assert _alive(buffer_refs) == 0
    assert live_clips() == open_before


def test_release_is_idempotent_and_a_released_clip_refuses_vlc_calls(
    instance: Any, clips: dict[str, Path]
) -> None:
    clip = VideoClip(instance, clips["red"], probe_video(clips["red"]), box=(320, 240))
    assert live_clips() >= 1
    clip.release()
    clip.release()
    assert clip.released
    with pytest.raises(RuntimeError, match="already released"):
        clip.time_s()


def test_a_clip_vlc_refuses_is_released_at_once(
    instance: Any, clips: dict[str, Path], made: list[weakref.ref[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    open_before = live_clips()
    monkeypatch.setattr(vlcvideo.vlc.MediaPlayer, "play", lambda _player: -1)
    with pytest.raises(vlcvideo.MediaError, match="refused"):
        VideoClip(instance, clips["red"], probe_video(clips["red"]), box=(320, 240))
    assert live_clips() == open_before
    assert len(made) == 1 and _alive(made) == 0


def _ad(ad_id: str, media: Path) -> Ad:
    return Ad(ad_id=ad_id, media=media, kind=MediaKind.VIDEO, duration_s=1.0, advertiser="acme", campaign="c")


def _pump_until_result(player: PygamePlayer, on_pump: Callable[[], None] = lambda: None) -> PlayResult:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        result = player.pump()
        if result is not None:
            return result
        on_pump()
        time.sleep(0.003)
    raise AssertionError("the player never reported a result")


def test_the_player_lets_go_of_every_clip_it_played(
    clips: dict[str, Path], made: list[weakref.ref[Any]]
) -> None:
    """Several videos in a row, driven like the loop drives them: each finished clip is collected."""
    open_before = live_clips()
    player = PygamePlayer(DisplaySettings(privacy_notice=False), headless=True)
    try:
        order = [_ad("red", clips["red"]), _ad("blue", clips["blue"])] * 3
        results = []
        player.prepare(order[0])
        player.start(order[0])
        for index, nxt in enumerate([*order[1:], None], start=1):
            prepared = False

            def prepare_next(nxt: Ad | None = nxt) -> None:
                nonlocal prepared
                remaining = player.remaining_s()
                if nxt is not None and not prepared and remaining is not None and remaining < 0.5:
                    player.prepare(nxt)
                    prepared = True

            results.append(_pump_until_result(player, prepare_next))
            if nxt is not None:
                player.start(nxt)
            # Only the clip just ended (released at the next picture) and the one starting are alive.
            assert _alive(made[: index - 1]) == 0
        assert [r.outcome for r in results] == [PlayOutcome.COMPLETED] * len(order)
        assert len(made) == len(order)
    finally:
        player.close()
    assert _alive(made) == 0
    assert live_clips() == open_before
