"""``signage fleet join``: give this screen its bearer token for the central server (docs/fleet.md).

The token is read from standard input (never the command line, which other users can see), checked
against the server unless ``--no-check``, and written to ``fleet.token_file`` readable by this user
only. The server URL goes into the settings file by hand (``fleet.server_url``); the command prints
the lines when the settings do not name that server yet.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.fleet.agent.client import FleetError, HttpFleetClient, TokenRefused, check_token
from signage.fleet.agent.wiring import token_path
from signage.urls import check_server_url


def fleet_group(app: typer.Typer) -> typer.Typer:
    """The ``signage fleet`` group, created by whichever module registers first (each adds its commands)."""
    for group in app.registered_groups:
        if group.name == "fleet" and group.typer_instance is not None:
            return group.typer_instance
    fleet_app = typer.Typer(help="This screen and the central fleet server.", no_args_is_help=True)
    app.add_typer(fleet_app, name="fleet")
    return fleet_app


def write_token(path: Path, token: str) -> None:
    """Write ``token`` to ``path`` as mode 0600, atomically (a reader sees the old token or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(token + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def register(app: typer.Typer) -> None:
    group = fleet_group(app)

    @group.command("join")
    def join_command(
        server: Annotated[str, typer.Option("--server", help="The central server, https://host[:port].")],
        token_stdin: Annotated[
            bool, typer.Option("--token-stdin", help="Read the screen's token from standard input.")
        ] = False,
        no_check: Annotated[
            bool, typer.Option("--no-check", help="Save the token without asking the server first.")
        ] = False,
        config: ConfigOption = None,
    ) -> None:
        """Save this screen's token (printed once by 'signage fleet screens add') for the fleet server."""
        settings = settings_or_exit(config)
        try:
            server = check_server_url(server) or ""
        except ValueError as exc:
            typer.echo(f"--server: {exc}", err=True)
            raise typer.Exit(2) from None
        if not token_stdin:
            typer.echo(
                "pass the token on standard input with --token-stdin (never on the command line)", err=True
            )
            raise typer.Exit(2)
        token = sys.stdin.readline().strip()
        try:
            check_token(token, "standard input")
        except FleetError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        if not no_check:
            _check_with_server(server, token, settings.screen_id)
        path = token_path(settings)
        try:
            write_token(path, token)
        except OSError as exc:
            typer.echo(f"cannot write the token to {path}: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"screen {settings.screen_id}: token saved to {path} (mode 0600)")
        if settings.fleet.server_url != server:
            typer.echo(f"now set the server in the settings file:\n  fleet:\n    server_url: {server}")


def _check_with_server(server: str, token: str, screen_id: str) -> None:
    client = HttpFleetClient(server, token)
    try:
        reply = client.get_state(None)
    except TokenRefused:
        typer.echo(
            f"{server} refused this token; ask for a new one ('signage fleet screens rotate-token')", err=True
        )
        raise typer.Exit(1) from None
    except FleetError as exc:
        typer.echo(f"{exc}; nothing saved (--no-check saves the token without asking)", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    state = reply.state
    if state is not None and state.screen_id != screen_id:
        typer.echo(
            f"this token belongs to screen {state.screen_id!r} but these settings are screen {screen_id!r}; "
            f"set screen_id: {state.screen_id} in the settings file first",
            err=True,
        )
        raise typer.Exit(1)
