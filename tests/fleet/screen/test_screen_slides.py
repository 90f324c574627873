"""The real player's alert slide and black screen (SDL dummy driver)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pygame
import pytest

from signage.clock import FakeClock
from signage.domain import Ad, MediaKind, PlayOutcome
from signage.playback.pygame_player import PygamePlayer
from signage.playback.slides import ALERT_BACKGROUND
from signage.settings import DisplaySettings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def player(clock: FakeClock) -> Iterator[PygamePlayer]:
    p = PygamePlayer(DisplaySettings(privacy_notice=True), headless=True, clock=clock.monotonic)
    yield p
    p.close()


def shot(player: PygamePlayer, path: Path) -> np.ndarray:
    player.screenshot(path)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB).astype(int)


def test_an_alert_is_white_text_on_red_with_its_picture_above(
    player: PygamePlayer, clock: FakeClock, tmp_path: Path
) -> None:
    green = np.zeros((300, 400, 3), np.uint8)
    green[:] = (0, 200, 0)
    blob = tmp_path / ("ab" * 32)  # a blob is named by its hash: no suffix
    cv2.imwrite(str(tmp_path / "g.png"), green)
    (tmp_path / "g.png").rename(blob)
    player.show_message("alert:fire", "Please leave the store now", blob, 30.0)
    pixels = shot(player, tmp_path / "a.png")
    height = pixels.shape[0]
    assert tuple(pixels[5, 5]) == ALERT_BACKGROUND
    top, bottom = pixels[: height // 2], pixels[height // 2 :]
    assert (np.abs(top - (0, 200, 0)).sum(axis=2) < 30).mean() > 0.2, "the picture fills the top half"
    assert (bottom.min(axis=2) > 230).sum() > 2000, "large white text below it"
    clock.advance(29.9)
    assert player.pump() is None
    clock.advance(0.2)
    result = player.pump()
    assert result is not None and (result.ad_id, result.outcome) == ("alert:fire", PlayOutcome.COMPLETED)


def test_an_unreadable_picture_leaves_the_text_alone(
    player: PygamePlayer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken"
    broken.write_bytes(b"not a picture")
    with caplog.at_level(logging.WARNING, "signage.playback.pygame_player"):
        player.show_message("alert:x", "Store closing", broken, 10.0)
        player.show_message("alert:x", "Store closing", broken, 10.0)
    assert len(caplog.records) == 1 and "the text is shown alone" in caplog.records[0].getMessage()
    pixels = shot(player, tmp_path / "t.png")
    assert (pixels.min(axis=2) > 230).sum() > 1000
    assert tuple(pixels[5, 5]) == ALERT_BACKGROUND


def test_black_is_all_black_without_the_notice_and_lets_the_display_sleep(
    player: PygamePlayer, clock: FakeClock, tmp_path: Path
) -> None:
    assert not pygame.display.get_allow_screensaver()
    player.show_black("closed", 3600.0)
    assert shot(player, tmp_path / "b.png").max() == 0, "no privacy notice on a closed screen"
    assert pygame.display.get_allow_screensaver()
    assert player.pump() is None and player.showing == "closed"
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.full((100, 100, 3), 128, np.uint8))
    player.start(Ad("a", still, MediaKind.IMAGE, 5.0, "adv", "camp"))
    assert not pygame.display.get_allow_screensaver()
    assert shot(player, tmp_path / "s.png").max() > 100
