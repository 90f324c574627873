"""What every command shares: the --config option, loading settings, printing findings, logging set-up."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from signage.settings import Settings, load_settings
from signage.yamlconf import ConfigError, Finding

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Device settings file (signage.yaml); built-in defaults when omitted."
    ),
]


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def print_findings(findings: Iterable[Finding], *, err: bool = True) -> None:
    """Each located finding on its own line, FILE:LINE:COLUMN: severity: message (key)."""
    for finding in findings:
        typer.echo(str(finding), err=err)


def config_exit(exc: ConfigError, code: int = 2) -> typer.Exit:
    """Print the findings of ``exc`` on stderr; the exit to raise (``raise config_exit(exc) from exc``)."""
    print_findings(exc.findings)
    return typer.Exit(code)


def settings_or_exit(config: Path | None) -> Settings:
    """The settings, or exit 2 after printing each located error as FILE:LINE:COLUMN: message."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise config_exit(exc) from exc
