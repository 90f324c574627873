"""``signage service install|uninstall|status``: the player as a systemd service (README "Running as a service")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.cli.player import settings_besides_data_dir

UnitDirOption = Annotated[
    Path | None,
    typer.Option("--unit-dir", help="Where the unit file goes (default /etc/systemd/system)."),
]


def register(app: typer.Typer) -> None:
    service = typer.Typer(
        help="Run the player as a systemd service: start at boot, restart on failure or a hang.",
        no_args_is_help=True,
    )
    service.command("install")(install_command)
    service.command("uninstall")(uninstall_command)
    service.command("status")(status_command)
    app.add_typer(service, name="service")


def install_command(
    user: Annotated[
        str | None, typer.Option("--user", help="The user the player runs as (default: you, or SUDO_USER).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="The player's data folder (default: data_dir of --config, else /var/lib/signage).",
        ),
    ] = None,
    config: ConfigOption = None,
    unit_dir: UnitDirOption = None,
    display: Annotated[
        str, typer.Option("--display", help='The X display the screen shows ("none": a headless player).')
    ] = ":0",
    watchdog_s: Annotated[
        int, typer.Option("--watchdog-s", min=2, help="Restart the player when its loop stalls this long.")
    ] = 30,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unit and the commands; write nothing.")
    ] = False,
) -> None:
    """Write the systemd unit and enable it (or say why it cannot start here)."""
    from signage.service.install import (
        DEFAULT_DATA_DIR,
        DEFAULT_UNIT_DIR,
        InstallRequest,
        RealSystemd,
        default_user,
        install,
    )

    if config is not None:
        # A file the service would refuse is refused now.
        if data_dir is None:
            data_dir = settings_or_exit(config).data_dir
        else:
            settings_besides_data_dir(config)
    request = InstallRequest(
        user=user or default_user(),
        data_dir=(data_dir or DEFAULT_DATA_DIR).absolute(),
        config=config.absolute() if config is not None else None,
        unit_dir=unit_dir or DEFAULT_UNIT_DIR,
        display=None if display.lower() == "none" else display,
        watchdog_s=watchdog_s,
    )
    raise typer.Exit(install(request, RealSystemd(), typer.echo, dry_run=dry_run))


def uninstall_command(unit_dir: UnitDirOption = None) -> None:
    """Stop and disable the service and remove its unit file."""
    from signage.service.install import DEFAULT_UNIT_DIR, RealSystemd, uninstall

    raise typer.Exit(uninstall(unit_dir or DEFAULT_UNIT_DIR, RealSystemd(), typer.echo))


def status_command(unit_dir: UnitDirOption = None) -> None:
    """`systemctl status signage`, or what is installed where systemd does not run."""
    from signage.service.install import DEFAULT_UNIT_DIR, RealSystemd, status

    raise typer.Exit(status(unit_dir or DEFAULT_UNIT_DIR, RealSystemd(), typer.echo))
