"""``signage run`` and ``signage demo``: the player itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging
from signage.settings import PROJECT_ROOT, Settings

HeadlessOption = Annotated[bool, typer.Option("--headless", help="No window: SDL dummy video driver.")]
DurationOption = Annotated[
    float | None, typer.Option("--duration", min=0.1, help="Stop by itself after this many seconds.")
]
ScreenshotsOption = Annotated[
    Path | None, typer.Option("--screenshots", help="Save one screenshot per play into this folder.")
]
WindowedOption = Annotated[bool, typer.Option("--windowed", help="A window instead of full screen.")]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Seed the rotation (repeatable runs).")]


def _run(settings: Settings, headless: bool, duration: float | None, shots: Path | None, windowed: bool,
         seed: int | None) -> None:  # fmt: skip
    from signage.app import RunOptions, run

    setup_logging(settings.log_level)
    if windowed:
        settings = settings.model_copy(
            update={"display": settings.display.model_copy(update={"fullscreen": False})}
        )
    code = run(settings, RunOptions(headless=headless, duration_s=duration, screenshots=shots, seed=seed))
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_command(
        config: ConfigOption = None,
        headless: HeadlessOption = False,
        duration: DurationOption = None,
        screenshots: ScreenshotsOption = None,
        windowed: WindowedOption = False,
        seed: SeedOption = None,
    ) -> None:
        """Run the player with the device settings."""
        _run(settings_or_exit(config), headless, duration, screenshots, windowed, seed)

    @app.command("demo")
    def demo_command(
        headless: HeadlessOption = False,
        duration: DurationOption = None,
        screenshots: ScreenshotsOption = None,
        windowed: WindowedOption = False,
        seed: SeedOption = None,
    ) -> None:
        """Run the player on its built-in defaults: sample ads and rules, a webcam or a simulated scene, SQLite."""
        from signage.samples import generate

        written = generate(PROJECT_ROOT / "ads" / "media")
        if written:
            typer.echo(f"generated {len(written)} sample file(s) in ads/media")
        _run(settings_or_exit(None), headless, duration, screenshots, windowed, seed)
