"""A covered lens: a dark or uniform picture for 10 s is reported, 2 s of a normal one clears it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from signage.camera.base import NoCamera, RGBImage
from signage.camera.capture import CameraStage
from signage.camera.covered import (
    CLEARED_AFTER_S,
    COVERED_AFTER_S,
    CoverWatch,
    Luminance,
    luminance,
)
from signage.clock import FakeClock
from signage.settings import CameraSettings

FPS = 30
WIDTH, HEIGHT = 160, 120
SETTINGS = CameraSettings(frozen_after_s=5.0, reconnect_initial_s=0.5, reconnect_max_s=4.0)

Maker = Callable[[np.random.Generator], RGBImage]


def black(rng: np.random.Generator) -> RGBImage:
    """A capped lens: near-black with a little sensor noise (so each frame is new, not frozen)."""
    return rng.integers(0, 4, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def flat_grey(rng: np.random.Generator) -> RGBImage:
    """A bright uniform surface against the lens: grey 180, noise of one grey level."""
    return (180 + rng.integers(-1, 2, (HEIGHT, WIDTH, 3))).astype(np.uint8)


def textured(rng: np.random.Generator) -> RGBImage:
    return rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def dim_scene(rng: np.random.Generator) -> RGBImage:
    """A dim room with things in it: a gradient 0-66 across the picture, plus noise."""
    ramp = np.linspace(0, 66, WIDTH)[None, :, None]
    noisy = ramp + rng.normal(0, 6, (HEIGHT, WIDTH, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


DIE = None  # a segment that makes ``read`` return None once: the camera drops out


class PictureSource:
    """Plays segments of (seconds, picture maker) at 30 fps on ``clock``; records ``probe`` per read.

    Each ``read`` first notes (fake time, ``probe()``), which is the stage's judgement of the
    frames so far. When the segments are used up, ``exhausted`` is set and ``read`` blocks until
    ``release()``.
    """

    name = "pictures"

    def __init__(self, segments: list[tuple[float, Maker] | None], clock: FakeClock) -> None:
        self._frames: list[Maker | None] = []
        for segment in segments:
            if segment is None:
                self._frames.append(None)
            else:
                seconds, maker = segment
                self._frames.extend([maker] * round(seconds * FPS))
        self._clock = clock
        self._rng = np.random.default_rng(7)
        self.probe: Callable[[], bool] = lambda: False
        self.seen: list[tuple[float, bool]] = []
        self.exhausted = threading.Event()
        self._released = threading.Event()

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def release(self) -> None:
        self._released.set()

    def read(self) -> RGBImage | None:
        self.seen.append((self._clock(), self.probe()))
        if not self._frames:
            self.exhausted.set()
            self._released.wait()
            return None
        maker = self._frames.pop(0)
        self._clock.advance(1 / FPS)
        return None if maker is None else maker(self._rng)


@pytest.fixture
def play() -> Iterator[Callable[[list[tuple[float, Maker] | None]], tuple[CameraStage, PictureSource]]]:
    made: list[tuple[threading.Event, CameraStage, PictureSource]] = []

    def run(segments: list[tuple[float, Maker] | None]) -> tuple[CameraStage, PictureSource]:
        clock = FakeClock()
        source = PictureSource(segments, clock)
        stop = threading.Event()

        def wait(seconds: float) -> bool:
            clock.advance(seconds)
            return stop.is_set()

        stage = CameraStage(source, SETTINGS, stop, clock=clock, wait=wait)
        source.probe = lambda: stage.covered
        made.append((stop, stage, source))
        stage.start()
        assert source.exhausted.wait(20)
        return stage, source

    yield run
    for stop, stage, source in made:
        stop.set()
        source.release()
        assert stage.join(timeout=5)


def transitions(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "signage.camera.covered" and r.levelno >= logging.INFO
    ]
    return ["covered" if "covered or black" in line else "back" if "back" in line else line for line in lines]


def first_time(seen: list[tuple[float, bool]], value: bool, after: float = 0.0) -> float:
    return next(t for t, covered in seen if covered is value and t >= after)


def test_the_test_pictures_have_the_intended_light() -> None:
    rng = np.random.default_rng(1)
    dark, grey, dim = luminance(black(rng)), luminance(flat_grey(rng)), luminance(dim_scene(rng))
    assert dark.mean < 5 and dark.std < 3 and dark.looks_covered
    assert grey.mean == pytest.approx(180, abs=1) and grey.std < 1 and grey.looks_covered
    assert 25 < dim.mean < 40 and 15 < dim.std < 25 and not dim.looks_covered
    assert not luminance(textured(rng)).looks_covered


def test_black_for_ten_seconds_is_covered_and_a_normal_picture_clears_it(
    play: Callable[..., tuple[CameraStage, PictureSource]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    stage, source = play([(11.0, black), (3.0, textured)])
    start = source.seen[0][0]
    black_ends = start + 11.0
    became_covered = first_time(source.seen, True)
    assert start + COVERED_AFTER_S <= became_covered <= start + COVERED_AFTER_S + 0.5
    assert became_covered < black_ends
    cleared = first_time(source.seen, False, after=became_covered)
    assert black_ends + CLEARED_AFTER_S <= cleared <= black_ends + CLEARED_AFTER_S + 0.5
    assert stage.status().online and not stage.covered
    assert transitions(caplog) == ["covered", "back"]


def test_a_bright_uniform_surface_is_covered_too(
    play: Callable[..., tuple[CameraStage, PictureSource]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    stage, _ = play([(1.0, textured), (11.0, flat_grey)])
    assert stage.status().online and stage.covered
    assert transitions(caplog) == ["covered"]


def test_a_dim_scene_with_texture_is_never_covered(
    play: Callable[..., tuple[CameraStage, PictureSource]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    stage, source = play([(15.0, dim_scene)])
    assert stage.status().online
    assert not any(covered for _, covered in source.seen)
    assert transitions(caplog) == []


def test_offline_is_not_covered_and_a_reconnect_starts_afresh(
    play: Callable[..., tuple[CameraStage, PictureSource]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    stage, source = play([(11.0, black), DIE, (5.0, black)])
    assert any(covered for _, covered in source.seen)
    # After the drop-out, 5 s of black is not yet 10 s of a covered picture.
    dropped = max(t for t, covered in source.seen if covered)
    assert not any(covered for t, covered in source.seen if t > dropped)
    assert stage.status().online and stage.status().reconnects == 1 and not stage.covered
    assert transitions(caplog) == ["covered"]  # the drop-out itself is the camera's offline line


def test_no_camera_is_not_covered() -> None:
    stop = threading.Event()
    stage = CameraStage(NoCamera(), SETTINGS, stop)
    stage.start()
    assert not stage.covered
    stop.set()
    assert stage.join(timeout=1)


def feed(watch: CoverWatch, t: float, phases: list[tuple[Luminance, float]]) -> tuple[float, bool]:
    """Four samples a second of each (luminance, seconds) phase from ``t``; the end time, covered."""
    for stats, seconds in phases:
        end = t + seconds
        while t < end:
            watch.observe_luminance(stats, t)
            t += 0.25
    return t, watch.covered


def test_a_passing_hand_or_a_blink_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="signage.camera")
    watch = CoverWatch()
    dark, normal = Luminance(mean=10, std=2), Luminance(mean=120, std=40)
    t, covered = feed(watch, 0.0, [(dark, 9.5), (normal, 0.5), (dark, 9.5)])  # never 10 s in a row
    assert not covered
    _, covered = feed(watch, t, [(dark, 10.25), (normal, 1.5), (dark, 1.0), (normal, 1.5)])
    assert covered  # each normal spell was shorter than 2 s
    assert transitions(caplog) == ["covered"]


def test_samples_are_spaced_whatever_the_frame_rate() -> None:
    watch = CoverWatch()
    assert watch.due(0.0)
    watch.observe_luminance(Luminance(mean=10, std=2), 0.0)
    assert not watch.due(0.1)
    assert watch.due(0.25)
