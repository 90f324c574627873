"""Still pictures for the screen: ads, the standby slide and the privacy notice, all drawn by pygame."""

from __future__ import annotations

import math
from pathlib import Path

import pygame

from signage.playback.vlcvideo import MediaError, fit_size

BACKGROUND = (0, 0, 0)  # letterbox bars; the picture itself is never black
STANDBY_TOP = (18, 46, 84)
STANDBY_BOTTOM = (8, 110, 120)


def load_still(path: Path, screen_size: tuple[int, int]) -> pygame.Surface:
    """The image scaled to fit the screen (letterboxed, never stretched), as a full-screen surface."""
    if not path.is_file():
        raise MediaError(f"image file {path} does not exist.")
    try:
        image = pygame.image.load(str(path))
    except (pygame.error, OSError, ValueError) as exc:
        raise MediaError(f"image file {path} cannot be read ({exc}).") from exc
    if image.get_width() < 1 or image.get_height() < 1:
        raise MediaError(f"image file {path} is empty.")
    return letterbox(image, screen_size)


def letterbox(image: pygame.Surface, screen_size: tuple[int, int]) -> pygame.Surface:
    size = fit_size(image.get_size(), screen_size)
    scaled = pygame.transform.smoothscale(image.convert(24) if image.get_bitsize() < 24 else image, size)
    canvas = pygame.Surface(screen_size)
    canvas.fill(BACKGROUND)
    canvas.blit(scaled, ((screen_size[0] - size[0]) // 2, (screen_size[1] - size[1]) // 2))
    return canvas


def generated_standby(screen_size: tuple[int, int], title: str = "Welcome") -> pygame.Surface:
    """A calm, clearly-not-broken screen for when there is nothing to play."""
    width, height = screen_size
    canvas = pygame.Surface(screen_size)
    for y in range(height):
        t = y / max(1, height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(STANDBY_TOP, STANDBY_BOTTOM, strict=True))
        pygame.draw.line(canvas, colour, (0, y), (width, y))
    radius = max(8, min(width, height) // 6)
    centre = (width // 2, height // 2 - radius // 3)
    for i in range(3):
        angle = math.pi / 2 + i * 2 * math.pi / 3
        ring = (
            centre[0] + int(radius * 0.6 * math.cos(angle)),
            centre[1] + int(radius * 0.6 * math.sin(angle)),
        )
        pygame.draw.circle(canvas, (240, 240, 240), ring, radius // 2, width=max(2, radius // 12))
    font = pygame.font.Font(None, max(24, height // 10))
    text = font.render(title, True, (245, 245, 245))
    canvas.blit(text, text.get_rect(center=(width // 2, centre[1] + radius + text.get_height())))
    return canvas


def privacy_badge(text: str, screen_size: tuple[int, int]) -> pygame.Surface:
    """A small translucent box with the notice, sized to the screen so it stays legible but discreet."""
    font = pygame.font.Font(None, max(14, screen_size[1] // 40))
    label = font.render(text, True, (255, 255, 255))
    pad = max(4, label.get_height() // 3)
    badge = pygame.Surface((label.get_width() + 2 * pad, label.get_height() + 2 * pad), pygame.SRCALPHA)
    badge.fill((0, 0, 0, 150))
    badge.blit(label, (pad, pad))
    return badge
