"""``signage doctor``: check everything a store screen needs, one line per check with its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from signage.cli.common import ConfigOption


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per check, as a list.")] = False,
    models_dir: Annotated[
        Path | None,
        typer.Option("--models-dir", help="The models folder to verify (default: the project's models/)."),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker", help="Check this MQTT broker (HOST[:PORT] or mqtt:// URL) instead of feed.mqtt_url."
        ),
    ] = None,
    camera_timeout_s: Annotated[
        float, typer.Option("--camera-timeout-s", min=0.5, help="How long to wait for the camera's frames.")
    ] = 5.0,
) -> None:
    """Check display, sound, camera, models, database, data folder, disk, clock; exit code 1 if any fails."""
    from signage.doctor import Broker, exit_code, load_context, run_checks
    from signage.settings import PROJECT_ROOT

    ctx = load_context(
        config,
        models_dir=models_dir or PROJECT_ROOT / "models",
        camera_timeout_s=camera_timeout_s,
        broker=Broker.from_url(broker) if broker else None,
    )
    checks = run_checks(ctx)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        for check in checks:
            typer.echo(check.line())
    raise typer.Exit(exit_code(checks))
