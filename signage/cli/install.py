"""``signage install-check``: the installer's view, to aim and tilt the camera in two minutes.

It opens the configured camera (or ``--camera``) through the capture stage, runs the real perception
(MediaPipe and our model) on the newest frame and shows, in a window, the picture with each face's
box, track id, distance, head-pose arrow and attention cone, green when the face is large enough to
classify and amber when it is not. It prints how far from the camera faces can be classified.

It is a separate command, off in normal running. Frames live in memory and on that window only:
nothing is recorded. ``--screenshot`` saves the view once, at the end, and only of a generated scene
(``simulated``) or a video file: for a live camera it is refused.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging
from signage.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from signage.audience.config import TrackerConfig
    from signage.audience.stage import Perception
    from signage.camera.base import FrameSource
    from signage.camera.capture import CameraStage

log = logging.getLogger(__name__)

REFUSED_SCREENSHOT = (
    "error: --screenshot is refused for a live camera ({source}): the installer view never records "
    "what a camera sees. It takes a screenshot of a generated scene (--camera simulated) or a video file."
)


def register(app: typer.Typer) -> None:
    app.command("install-check")(install_check)


def source_kind(spec: str, source: FrameSource) -> str:
    """``generated`` (the simulated scene), ``file``, ``none`` or ``live`` (a device or a stream)."""
    from signage.camera.base import NoCamera
    from signage.camera.simulated import SimulatedSource

    if isinstance(source, SimulatedSource):
        return "generated"
    if isinstance(source, NoCamera):
        return "none"
    text = spec.strip()
    if text.lower() == "auto" or text.isdigit() or "://" in text:
        return "live"
    return "file"


def install_check(
    config: ConfigOption = None,
    camera: Annotated[
        str | None,
        typer.Option(
            "--camera",
            help="Instead of camera.source: simulated[:SEED], a device number, a URL or a video file.",
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", min=0.5, help="Stop after this many seconds (default: when the window closes)."
        ),
    ] = None,
    screenshot: Annotated[
        Path | None,
        typer.Option(
            "--screenshot", help="Save the view as PNG at the end: a generated scene or a video file only."
        ),
    ] = None,
    models_dir: Annotated[Path, typer.Option("--models", help="Folder with manifest.yaml.")] = PROJECT_ROOT
    / "models",
    no_attributes: Annotated[
        bool, typer.Option("--no-attributes", help="Find and track faces without the attribute model.")
    ] = False,
) -> None:
    """Show the camera picture as perception sees it, to aim the camera: nothing is recorded."""
    from signage.app import display_available
    from signage.camera.base import SourceError
    from signage.camera.factory import open_source

    settings = settings_or_exit(config)
    setup_logging(settings.log_level)
    spec = camera if camera is not None else settings.camera.source
    try:
        source = open_source(spec, settings.camera)
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    kind = source_kind(spec, source)
    if kind == "none":
        typer.echo("error: camera.source is none: there is no picture to show; pass --camera", err=True)
        raise typer.Exit(2)
    if screenshot is not None and kind == "live":
        typer.echo(REFUSED_SCREENSHOT.format(source=source.name), err=True)
        raise typer.Exit(2)
    if not display_available():
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no display: the same view, headless
        if duration is None:
            duration = 10.0
        typer.echo(f"No display: running headless for {duration:g} s (the console lines below still tell).")
    perception, tracker_config = _perception(settings, models_dir, no_attributes)
    view = _View(source, settings, perception, tracker_config, models_dir)
    code = view.run(duration, screenshot)
    raise typer.Exit(code)


def _perception(settings: Any, models_dir: Path, no_attributes: bool) -> tuple[Perception, TrackerConfig]:
    from signage.audience import TrackerConfig
    from signage.audience.factory import build_perception, load_attribute_model

    model = None
    if not no_attributes:
        from classifier.attributes import ModelError

        try:
            # As in the player: batched on one torch thread, the camera and MediaPipe need the other core.
            model = load_attribute_model(models_dir, settings.perception.estimate_emotion)
        except ModelError as exc:
            typer.echo(f"error: {exc} Use --no-attributes to check the camera without the model.", err=True)
            raise typer.Exit(2) from exc
    return build_perception(settings.perception, model), TrackerConfig.from_settings(settings.perception)


class _View:
    """The window loop on the main thread (it owns the display); the camera reads on its own thread."""

    def __init__(
        self,
        source: FrameSource,
        settings: Any,
        perception: Perception,
        tracker_config: TrackerConfig,
        models_dir: Path,
    ) -> None:
        self.source = source
        self.settings = settings
        self.perception = perception
        self.config = tracker_config
        self.models_dir = models_dir
        self.frames = 0
        self.faces_seen = 0
        self.ranged = False
        self.range_m = 0.0

    def run(self, duration: float | None, screenshot: Path | None) -> int:
        import pygame

        from signage.camera.capture import CameraStage

        stop = threading.Event()
        stage = CameraStage(self.source, self.settings.camera, stop)
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_caption("signage install-check: nothing is recorded")
        window = pygame.display.set_mode((self.settings.camera.width, self.settings.camera.height))
        stage.start()
        started = time.monotonic()
        drawn = False
        try:
            drawn = self._loop(stage, window, stop, started, duration)
            if screenshot is not None:
                if not drawn:
                    typer.echo("error: no camera frame arrived, so there is no view to save", err=True)
                    return 1
                pygame.image.save(window, str(screenshot))  # the installer asked for this one picture
                typer.echo(f"Screenshot of the installer view saved to {screenshot}.")
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            stage.join(5.0)
            self.perception.detector.close()
            pygame.quit()
        status = stage.status()
        typer.echo(
            f"{status.source}: {self.frames} frames checked, {status.frames_read} read; "
            f"{self.faces_seen} face sightings. Nothing was recorded."
        )
        return 0 if self.frames else 1

    def _loop(
        self, stage: CameraStage, window: Any, stop: threading.Event, started: float, duration: float | None
    ) -> bool:
        import pygame

        last_seq, last_print, drawn = 0, started, False
        window_size = window.get_size()
        while not stop.is_set():
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (
                    event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)
                ):
                    stop.set()
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            frame = stage.take_new(last_seq, timeout_s=0.1)
            if frame is None:
                if not stage.status().online and now - last_print >= 2.0:
                    typer.echo(f"{now - started:5.1f} s  waiting for the camera: {stage.status().reason}")
                    last_print = now
                continue
            last_seq = frame.seq
            view, line = self._frame(frame.image, frame.captured_mono, stage, now - started)
            surface = pygame.surfarray.make_surface(view.swapaxes(0, 1))
            if surface.get_size() != window_size:
                window = pygame.display.set_mode(surface.get_size())
                window_size = surface.get_size()
            window.blit(surface, (0, 0))
            pygame.display.flip()
            drawn = True
            if now - last_print >= 2.0:
                typer.echo(line)
                last_print = now
        return drawn

    def _frame(self, image: Any, captured_mono: float, stage: CameraStage, elapsed: float) -> tuple[Any, str]:
        from signage.install_check import classification_range, draw_view, face_marks, read_degrade_figures

        width = int(image.shape[1])
        if not self.ranged:  # the camera's real width, which may differ from the one asked for
            expected = classification_range(self.config, width, read_degrade_figures(self.models_dir))
            self.range_m = expected.max_distance_m
            for text in expected.lines():
                typer.echo(text)
            self.ranged = True
        snapshot = self.perception.process(image, captured_mono)
        marks = face_marks(self.perception.tracker.current_faces(), snapshot, self.config, width)
        self.frames += 1
        self.faces_seen += len(marks)
        status = stage.status()
        ok = sum(1 for m in marks if m.classifiable)
        hud = [
            "INSTALL CHECK - nothing is recorded (Esc quits)",
            f"{status.source}  {width}x{image.shape[0]}  {status.fps:.0f} fps",
            f"{len(marks)} face(s), {ok} large enough to classify (up to {self.range_m:.1f} m)",
            "green: classify  amber: too small  arrow: head  ellipse: attention cone",
        ]
        faces = ", ".join(
            f"{'?' if m.track_id is None else '#' + str(m.track_id)} {m.distance_m:.1f} m "
            f"{'classify' if m.classifiable else 'too small'}{' watching' if m.in_cone else ''}"
            for m in marks
        )
        line = f"{elapsed:5.1f} s  {len(marks)} face(s){': ' + faces if faces else ''}"
        return draw_view(image, marks, hud, self.config), line
