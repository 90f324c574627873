"""What every command shares: the --config option, loading settings, logging set-up."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from signage.settings import Settings, load_settings
from signage.yamlconf import ConfigError

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Device settings file (signage.yaml); built-in defaults when omitted."
    ),
]


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or exit 2 after printing each located error as FILE:LINE:COLUMN: message."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        for finding in exc.findings:
            typer.echo(str(finding), err=True)
        raise typer.Exit(2) from exc
