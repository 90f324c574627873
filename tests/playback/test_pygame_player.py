"""The real player under the SDL dummy driver: stills, videos, skips, standby and the switch."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pygame
import pytest
from skimage import data

from signage.clock import FakeClock, SystemClock
from signage.domain import Ad, AudienceSnapshot, Decision, MediaKind, PlayOutcome, PlayRecord
from signage.loop import LoopConfig, SlotLoop
from signage.playback.base import PlayResult
from signage.playback.pygame_player import PygamePlayer
from signage.settings import DisplaySettings
from signage.store.fake import FakePlaySink


def _ad(ad_id: str, media: Path, kind: MediaKind = MediaKind.VIDEO, duration_s: float = 1.0) -> Ad:
    return Ad(ad_id=ad_id, media=media, kind=kind, duration_s=duration_s, advertiser="acme", campaign="c")


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _pump_until_result(player: PygamePlayer, timeout_s: float = 10.0) -> PlayResult:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = player.pump()
        if result is not None:
            return result
        time.sleep(0.003)
    raise AssertionError("the player never reported a result")


@pytest.fixture
def coffee(tmp_path: Path) -> Path:
    path = tmp_path / "coffee.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))  # 600x400 RGB
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def player(clock: FakeClock) -> Iterator[PygamePlayer]:
    p = PygamePlayer(DisplaySettings(privacy_notice=False), headless=True, clock=clock)
    yield p
    p.close()


def test_dummy_driver_fullscreen_uses_the_real_surface_size(player: PygamePlayer) -> None:
    assert player.size == (1024, 768) and player.mode == "callbacks"


def test_still_ad_is_letterboxed_and_lasts_its_duration(
    player: PygamePlayer, clock: FakeClock, coffee: Path, tmp_path: Path
) -> None:
    player.prepare(_ad("coffee", coffee, MediaKind.IMAGE, 8.0))
    player.start(_ad("coffee", coffee, MediaKind.IMAGE, 8.0))
    shot = tmp_path / "shot.png"
    player.screenshot(shot)
    pixels = _rgb(shot)
    assert pixels.shape == (768, 1024, 3)
    # 600x400 into 1024x768 fits the width: 1024x682, black bars of 43 px above and below.
    assert pixels[:40].max() == 0 and pixels[-40:].max() == 0
    expected = cv2.resize(data.coffee(), (1024, 682), interpolation=cv2.INTER_AREA)
    shown = pixels[43 : 43 + 682].astype(int)
    assert np.abs(shown - expected.astype(int)).mean() < 6  # the picture itself, not a stretched one
    clock.advance(7.9)
    assert player.pump() is None and player.remaining_s() == pytest.approx(0.1)
    clock.advance(0.2)
    result = player.pump()
    assert result is not None and result.outcome is PlayOutcome.COMPLETED and result.ad_id == "coffee"
    assert result.actual_s == pytest.approx(8.1)


def test_privacy_notice_is_drawn_in_the_corner(clock: FakeClock, coffee: Path, tmp_path: Path) -> None:
    shots = {}
    for notice in (False, True):
        p = PygamePlayer(DisplaySettings(privacy_notice=notice), headless=True, clock=clock)
        try:
            p.start(_ad("coffee", coffee, MediaKind.IMAGE))
            p.screenshot(tmp_path / f"{notice}.png")
        finally:
            p.close()
        shots[notice] = _rgb(tmp_path / f"{notice}.png").astype(int)
    changed = np.abs(shots[True] - shots[False]).sum(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert len(ys) > 500, "no notice drawn"
    assert ys.min() > 768 * 0.85 and xs.max() > 1024 * 0.9  # a small strip at the bottom right


@pytest.mark.parametrize("name", ["corrupt", "truncated", "missing"])
def test_broken_video_is_skipped_with_a_reason_and_the_picture_stays(
    player: PygamePlayer, clips: dict[str, Path], coffee: Path, tmp_path: Path, name: str
) -> None:
    player.start(_ad("coffee", coffee, MediaKind.IMAGE))
    player.screenshot(tmp_path / "before.png")
    media = clips.get(name, tmp_path / "missing.mp4")
    player.prepare(_ad(name, media))
    player.start(_ad(name, media))
    result = player.pump()
    assert result is not None and result.outcome is PlayOutcome.SKIPPED and result.ad_id == name
    assert str(media) in result.reason and result.reason.endswith(".")
    assert player.pump() is None  # reported once
    player.screenshot(tmp_path / "after.png")
    assert np.array_equal(_rgb(tmp_path / "before.png"), _rgb(tmp_path / "after.png"))


@pytest.mark.parametrize("name", ["corrupt", "missing"])
def test_a_skipped_video_is_logged_once_between_the_player_and_the_loop(
    clips: dict[str, Path], coffee: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """The real player under the real loop; a catalog reload gives the ad a second, equally vain, chance."""
    caplog.set_level(logging.INFO)
    broken = _ad(name, clips.get(name, tmp_path / "missing.mp4"))
    still = _ad("coffee", coffee, MediaKind.IMAGE, 0.05)
    version = [0]

    def decide(_a: AudienceSnapshot, _h: Sequence[PlayRecord], _n: datetime, out: frozenset[str]) -> Decision:
        return Decision(still if name in out else broken, "test", "")

    sink = FakePlaySink()
    player = PygamePlayer(DisplaySettings(privacy_notice=False), headless=True)  # on the wall clock
    loop = SlotLoop(
        LoopConfig(screen_id="s1", lead_s=0.02),
        player,
        sink,
        lambda: AudienceSnapshot.unknown(time.monotonic()),
        decide,
        SystemClock(),
        catalog_version=lambda: version[0],
    )

    def skipped() -> int:
        return sum(p.outcome is PlayOutcome.SKIPPED for p in sink.plays.values())

    deadline = time.monotonic() + 10.0
    try:
        while skipped() < 2 and time.monotonic() < deadline:
            loop.step()
            if skipped() == 1 and version[0] == 0 and any(p.ad_id == "coffee" for p in sink.plays.values()):
                version[0] = 1
            time.sleep(0.003)
    finally:
        player.close()
    assert skipped() == 2
    reports = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert len(reports) == 1, [r.getMessage() for r in reports]
    assert reports[0].levelno == logging.WARNING and name in reports[0].getMessage()


def test_unreadable_image_is_skipped(player: PygamePlayer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    player.start(_ad("bad", bad, MediaKind.IMAGE))
    result = player.pump()
    assert result is not None and result.outcome is PlayOutcome.SKIPPED and "bad.png" in result.reason


def test_standby_uses_the_catalog_slide_else_a_generated_one(
    clock: FakeClock, coffee: Path, tmp_path: Path
) -> None:
    for standby in (coffee, None, tmp_path / "gone.png"):
        p = PygamePlayer(DisplaySettings(privacy_notice=False), standby=standby, headless=True, clock=clock)
        try:
            p.show_standby(10.0)
            p.screenshot(tmp_path / "standby.png")
            pixels = _rgb(tmp_path / "standby.png")
            assert pixels.reshape(-1, 3).max(axis=1).mean() > 40, "standby must never be black"
            if standby == coffee:
                assert (
                    np.abs(pixels[384].astype(int) - cv2.resize(data.coffee(), (1024, 682))[341]).mean() < 8
                )
            clock.advance(10.0)
            result = p.pump()
            assert result is not None and result.ad_id == "standby"
            assert result.outcome is PlayOutcome.COMPLETED
        finally:
            p.close()


def test_standby_follows_the_live_catalog_and_an_edited_slide(clock: FakeClock, tmp_path: Path) -> None:
    slide = tmp_path / "standby.png"
    cv2.imwrite(str(slide), np.full((90, 160, 3), (0, 0, 200), np.uint8))  # red (BGR)
    current: list[Path | None] = [slide]
    p = PygamePlayer(
        DisplaySettings(privacy_notice=False), standby=lambda: current[0], headless=True, clock=clock
    )

    def centre() -> np.ndarray:
        p.show_standby(10.0)
        p.screenshot(tmp_path / "shot.png")
        clock.advance(10.0)
        p.pump()
        pixels = _rgb(tmp_path / "shot.png")
        return pixels[pixels.shape[0] // 2, pixels.shape[1] // 2].astype(int)

    try:
        assert centre()[0] > 180  # red
        cv2.imwrite(str(slide), np.full((90, 160, 3), (200, 0, 0), np.uint8))  # edited in place: blue
        time.sleep(0.01)
        assert centre()[2] > 180
        other = tmp_path / "green.png"
        cv2.imwrite(str(other), np.full((90, 160, 3), (0, 200, 0), np.uint8))
        current[0] = other  # the catalog now names another slide
        assert centre()[1] > 180
    finally:
        p.close()


def test_two_clips_switch_without_a_black_frame(clips: dict[str, Path]) -> None:
    """Sample the screen after every pump: only red, then only blue; never black, never a mix."""
    player = PygamePlayer(DisplaySettings(privacy_notice=False), headless=True)
    try:
        _play_red_then_blue(player, clips)
    finally:
        player.close()


def _play_red_then_blue(player: PygamePlayer, clips: dict[str, Path]) -> None:
    screen = pygame.display.get_surface()
    seen: list[str] = []
    results = []
    red, blue = _ad("red", clips["red"]), _ad("blue", clips["blue"])
    player.prepare(red)
    player.start(red)
    player.prepare(blue)
    for nxt in (blue, None):
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            result = player.pump()
            r, g, b, _ = screen.get_at((512, 600))  # below the moving bar
            seen.append("red" if r > 150 > b else "blue" if b > 150 > r else f"other{(r, g, b)}")
            if result is not None:
                results.append(result)
                break
            time.sleep(0.003)
        if nxt is not None:
            player.start(nxt)
    assert [r.outcome for r in results] == [PlayOutcome.COMPLETED] * 2
    assert [r.ad_id for r in results] == ["red", "blue"]
    assert all(r.actual_s > 0 for r in results), results
    # The window opens on the standby slide; after that, each colour is one unbroken run.
    runs = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert runs[-2:] == ["red", "blue"], runs[:10]
    assert all(not s.startswith("other(0, 0, 0)") for s in seen)
    assert player.frames_blitted > 0  # the clips were drawn by pump (callbacks mode), not only announced
