"""Real libvlc, headless: frames come back through the callbacks and the clip plays to its end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from signage.playback.vlcvideo import MediaError, VideoClip, fit_size, make_instance, probe_video


def test_fit_size_letterboxes_without_stretching() -> None:
    assert fit_size((1920, 1080), (1024, 768)) == (1024, 576)
    assert fit_size((400, 600), (1024, 768)) == (512, 768)
    w, h = fit_size((320, 240), (1024, 768))
    assert (w, h) == (1024, 768)


def test_probe_reads_size_rate_and_length(clips: dict[str, Path]) -> None:
    info = probe_video(clips["red"])
    assert (info.width, info.height) == (320, 240)
    assert info.fps == pytest.approx(30.0)
    assert info.frames == 30 and info.duration_s == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["corrupt", "truncated"])
def test_probe_rejects_broken_files_with_one_sentence(clips: dict[str, Path], name: str) -> None:
    with pytest.raises(MediaError, match=rf"video file .*{name}\.mp4 .*\.$"):
        probe_video(clips[name])


def test_probe_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="does not exist"):
        probe_video(tmp_path / "nowhere.mp4")


def test_vlc_plays_a_generated_clip_to_its_end_through_callbacks(clips: dict[str, Path]) -> None:
    instance = make_instance(draw_into_window=False, sound=False)
    clip = VideoClip(instance, clips["red"], probe_video(clips["red"]), box=(640, 480))
    try:
        time.sleep(0.3)
        assert clip.frames_displayed == 0, "a prepared clip must wait, paused, for play()"
        clip.play()
        assert clip.ended.wait(10.0), "EndReached never came"
        assert clip.playing.is_set() and not clip.error.is_set()
        # Frames are paced by VLC's clock; allow a couple lost to a loaded 2-core machine.
        assert 25 <= clip.frames_displayed <= 30
        frame = clip.latest(0)
        assert frame is not None
        seq, pixels = frame
        assert seq == clip.frames_displayed and pixels.shape == (480, 640, 4)
        b, g, r, _ = (int(v) for v in pixels[400, 320])  # below the moving bar: the clip's red
        assert r > 180 and g < 60 and b < 60
        assert clip.latest(seq) is None  # nothing newer than what was taken
    finally:
        clip.release()
        instance.release()
