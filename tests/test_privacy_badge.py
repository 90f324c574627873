"""The on-screen privacy notice stays discreet: at most half the screen wide, wrapped, legible."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pygame
import pytest

from signage.playback.slides import privacy_badge
from signage.settings import PRIVACY_NOTICE


@pytest.fixture(autouse=True)
def fonts() -> Iterator[None]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    pygame.font.init()
    yield
    pygame.font.quit()


@pytest.mark.parametrize("screen", [(1280, 720), (1920, 1080), (3840, 2160)])
def test_the_standard_notice_wraps_within_half_the_screen(screen: tuple[int, int]) -> None:
    badge = privacy_badge(PRIVACY_NOTICE, screen)
    one_line = pygame.font.Font(None, max(14, screen[1] // 40)).get_linesize()
    assert badge.get_width() <= screen[0] // 2 + one_line  # the text, plus its padding
    assert badge.get_height() >= 2 * one_line  # this notice is too long for one such line
    assert badge.get_height() < screen[1] // 4


def test_a_short_notice_keeps_one_line() -> None:
    font = pygame.font.Font(None, 1080 // 40)
    badge = privacy_badge("Camera in use.", (1920, 1080))
    assert badge.get_height() < 2 * font.get_linesize()
    assert badge.get_width() < 1920 // 4
