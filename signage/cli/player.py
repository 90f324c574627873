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
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="The data folder, instead of data_dir in the settings.")
]


def settings_besides_data_dir(config: Path | None) -> Settings:
    """The settings of a player given its data folder elsewhere: their own data_dir's problems do not count."""
    from signage.settings import load_settings
    from signage.yamlconf import ConfigError, parse_yaml, read_text, validate_document

    try:
        return load_settings(config)
    except ConfigError as exc:
        if config is None or any(finding.key != "data_dir" for finding in exc.findings):
            settings_or_exit(config)  # prints the located errors and exits
            raise
        doc = parse_yaml(read_text(config), str(config))
        return validate_document(doc, Settings).relative_to(config.resolve().parent)


def _settings_for_run(config: Path | None, data_dir: Path | None) -> Settings:
    if data_dir is None:
        return settings_or_exit(config)
    from signage.settings import data_dir_problem

    problem = data_dir_problem(data_dir.absolute())
    if problem is not None:
        typer.echo(f"--data-dir: {problem}", err=True)
        raise typer.Exit(2)
    return settings_besides_data_dir(config).model_copy(update={"data_dir": data_dir.absolute()})


def _run(settings: Settings, headless: bool, duration: float | None, shots: Path | None, windowed: bool,
         seed: int | None, local_feed: bool = False) -> None:  # fmt: skip
    from signage.app import RunOptions, run

    setup_logging(settings.log_level)
    if windowed:
        settings = settings.model_copy(
            update={"display": settings.display.model_copy(update={"fullscreen": False})}
        )
    options = RunOptions(
        headless=headless, duration_s=duration, screenshots=shots, seed=seed, local_feed=local_feed
    )
    code = run(settings, options)
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
        data_dir: DataDirOption = None,
    ) -> None:
        """Run the player with the device settings."""
        _run(_settings_for_run(config, data_dir), headless, duration, screenshots, windowed, seed)

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
        # The audience feed goes to a broker answering at 127.0.0.1:1883, if one does (one line says which).
        _run(settings_or_exit(None), headless, duration, screenshots, windowed, seed, local_feed=True)
