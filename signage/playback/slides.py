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
    # At most half the screen wide: a longer notice wraps onto more lines.
    lines = [font.render(line, True, (255, 255, 255)) for line in _wrap(text, font, screen_size[0] // 2)]
    pad = max(4, font.get_linesize() // 3)
    width = max(label.get_width() for label in lines)
    height = sum(label.get_height() for label in lines)
    badge = pygame.Surface((width + 2 * pad, height + 2 * pad), pygame.SRCALPHA)
    badge.fill((0, 0, 0, 150))
    y = pad
    for label in lines:
        badge.blit(label, (pad, y))
        y += label.get_height()
    return badge


ALERT_BACKGROUND = (150, 0, 0)  # white on this red: a contrast ratio above 8:1
ALERT_TEXT = (255, 255, 255)


def _wrap(text: str, font: pygame.font.Font, width: int) -> list[str]:
    """The words of ``text`` in lines no wider than ``width`` (a longer word gets a line of its own)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and font.size(candidate)[0] > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def alert_slide(
    message: str, screen_size: tuple[int, int], image: pygame.Surface | None = None
) -> pygame.Surface:
    """A full-screen emergency message: large white text on red, the alert's picture above it.

    The text gets the largest size (from an eighth of the screen's height down) at which it fits in
    the space left; the picture takes at most half the height.
    """
    width, height = screen_size
    canvas = pygame.Surface(screen_size)
    canvas.fill(ALERT_BACKGROUND)
    margin = max(8, min(width, height) // 20)
    top = margin
    if image is not None and image.get_width() > 0 and image.get_height() > 0:
        box = (width - 2 * margin, height // 2 - margin)
        fitted = fit_size(image.get_size(), box)
        source = image.convert(24) if image.get_bitsize() < 24 else image
        picture = pygame.transform.smoothscale(source, fitted)
        canvas.blit(picture, ((width - fitted[0]) // 2, top))
        top += fitted[1] + margin
    room = (width - 2 * margin, height - top - margin)
    size = max(16, height // 8)
    while True:
        font = pygame.font.Font(None, size)
        lines = _wrap(message, font, room[0])
        block = font.get_linesize() * len(lines)
        if size <= 16 or (block <= room[1] and all(font.size(line)[0] <= room[0] for line in lines)):
            break
        size = max(16, int(size * 0.85))
    y = top + max(0, (room[1] - block) // 2)
    for line in lines:
        label = font.render(line, True, ALERT_TEXT)
        canvas.blit(label, label.get_rect(midtop=(width // 2, y)))
        y += font.get_linesize()
    return canvas


def black_slide(screen_size: tuple[int, int]) -> pygame.Surface:
    """The screen outside opening hours: black, nothing on it."""
    canvas = pygame.Surface(screen_size)
    canvas.fill((0, 0, 0))
    return canvas
