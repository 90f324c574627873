"""``signage camera``: open the configured camera through the capture stage and report its health.

For store operations pointing the screen at a camera: it shows whether frames arrive, at what rate,
and how the watchdog reacts. No frame is ever saved or shown (privacy).
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging


def register(app: typer.Typer) -> None:
    app.command("camera")(camera)


def camera(
    source: Annotated[
        str | None,
        typer.Option(
            "--source", help="auto, simulated[:SEED], none, a device number, a URL or a video file."
        ),
    ] = None,
    config: ConfigOption = None,
    seconds: Annotated[float, typer.Option(min=0.5, help="How long to watch the camera.")] = 10.0,
) -> None:
    """Check a camera: frames read and dropped, frame rate, reconnects, online/offline transitions."""
    from signage.camera import CameraStage, SourceError, open_source

    setup_logging()
    settings = settings_or_exit(config).camera
    spec = source if source is not None else settings.source
    try:
        frame_source = open_source(spec, settings)
    except SourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    stop = threading.Event()
    stage = CameraStage(frame_source, settings, stop)
    stage.start()
    started = time.monotonic()
    last_seq = 0
    shapes: set[tuple[int, ...]] = set()
    ever_online = False
    try:
        while not stop.wait(1.0):
            status = stage.status()
            frame = stage.latest()
            if frame is not None:
                shapes.add(frame.image.shape)
                last_seq = frame.seq
            ever_online = ever_online or status.online
            state = f"online {status.fps:5.1f} fps" if status.online else f"offline ({status.reason})"
            typer.echo(
                f"{time.monotonic() - started:5.1f} s  {state}  read {status.frames_read}"
                f"  dropped {status.frames_dropped}  reconnects {status.reconnects}"
            )
            if time.monotonic() - started >= seconds:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        stage.join(timeout=5)
    status = stage.status()
    sizes = ", ".join(f"{s[1]}x{s[0]}" for s in sorted(shapes)) or "none"
    typer.echo(
        f"{status.source}: {status.frames_read} frames read (last seq {last_seq}), frame size {sizes},"
        f" {status.reconnects} reconnect(s)"
    )
    raise typer.Exit(0 if ever_online else 1)
