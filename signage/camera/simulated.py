"""The simulated camera: a seeded store scene rendered at a steady frame rate (the demo's camera)."""

from __future__ import annotations

import time
from collections.abc import Callable

from signage.camera.base import RGBImage
from signage.camera.cast import Bust, load_cast
from signage.camera.pacing import Pacer
from signage.camera.render import SceneRenderer
from signage.camera.scene import PersonView, SceneScript


class SimulatedScene:
    """Frame ``n`` is the scene at ``n / fps`` seconds: the same seed gives the same frames."""

    def __init__(self, width: int, height: int, fps: float, seed: int = 0, cast_size: int = 12) -> None:
        self.fps = fps
        self.cast: tuple[Bust, ...] = load_cast(cast_size, seed)
        self.script = SceneScript(seed, len(self.cast))
        self.renderer = SceneRenderer(width, height, self.cast, noise_seed=seed)

    def people(self, index: int) -> tuple[PersonView, ...]:
        """Ground truth for frame ``index``."""
        return self.script.people_at(index / self.fps)

    def frame(self, index: int) -> RGBImage:
        t = index / self.fps
        return self.renderer.render(self.script.people_at(t), t, index)


class SimulatedSource:
    """A FrameSource over SimulatedScene, paced to ``fps``; reopening continues the same scene."""

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        seed: int = 0,
        cast_size: int = 12,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._args = (width, height, fps, seed, cast_size)
        self._seed = seed
        self._scene: SimulatedScene | None = None
        self._pacer = Pacer(fps, clock, sleep)
        self._open = False
        self.index = 0  # the next frame to render

    @property
    def name(self) -> str:
        return f"simulated scene (seed {self._seed})"

    @property
    def scene(self) -> SimulatedScene:
        if self._scene is None:  # loading the cast takes ~0.1 s: only when first used
            self._scene = SimulatedScene(*self._args)
        return self._scene

    def open(self) -> None:
        _ = self.scene
        self._pacer.reset()
        self._open = True

    def read(self) -> RGBImage | None:
        if not self._open:
            return None
        self._pacer.wait_next()
        image = self.scene.frame(self.index)
        self.index += 1
        return image

    def close(self) -> None:
        self._open = False
