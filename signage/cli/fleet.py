"""``signage db upgrade`` and ``signage sync``: the store's schema and the fleet sync."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import sqlalchemy as sa
import typer

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging
from signage.settings import Settings
from signage.store.engine import describe_url, make_engine
from signage.store.migrate import head_revision, upgrade
from signage.store.sql import one_line

UrlOption = Annotated[
    str | None, typer.Option("--url", help="SQLAlchemy URL of the database (default: the settings').")
]


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _sync_over_http(settings: Settings, local_url: str, once: bool, stop: threading.Event) -> None:
    from signage.fleet.http_target import UplinkClient, read_token, token_path
    from signage.fleet.runner import run_http_sync

    server_url = settings.fleet.server_url
    assert server_url is not None
    try:
        token = read_token(token_path(settings.fleet.token_file, settings.data_dir))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    with UplinkClient(server_url, token) as client:
        outcome = run_http_sync(
            local_url,
            client,
            once=once,
            stop=stop,
            interval_s=settings.fleet.sync_interval_s,
            batch_rows=settings.fleet.sync_batch_rows,
        )
    if outcome.error:
        typer.echo(outcome.error, err=True)
        raise typer.Exit(1)
    typer.echo(f"synced {outcome.rows} row(s) to {client.server_url} in {outcome.passes} pass(es)")


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The proof-of-play database.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def upgrade_command(url: UrlOption = None, config: ConfigOption = None) -> None:
        """Create or migrate the database to the latest schema (the player also does it at start)."""
        settings = settings_or_exit(config)
        setup_logging(settings.log_level)
        target = url or settings.resolved_database_url()
        engine = make_engine(target)
        try:
            before = upgrade(engine)
        except sa.exc.SQLAlchemyError as exc:
            typer.echo(f"cannot upgrade {describe_url(target)}: {one_line(exc)}", err=True)
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        head = head_revision()
        state = "already at" if before == head else f"upgraded from {before or 'empty'} to"
        typer.echo(f"{describe_url(target)}: {state} {head}")

    @app.command("sync")
    def sync_command(
        central: Annotated[
            str | None,
            typer.Option(
                "--central", help="Central PostgreSQL URL (default: fleet.central_url in the settings)."
            ),
        ] = None,
        once: Annotated[bool, typer.Option("--once", help="One pass, then exit (1 if it failed).")] = False,
        local: Annotated[
            str | None, typer.Option("--local", help="This screen's database URL (default: the settings').")
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        """Ship this screen's rows to the central server (fleet.server_url) or database, resumably."""
        from signage.fleet.runner import run_sync

        settings = settings_or_exit(config)
        setup_logging(settings.log_level)
        stop = threading.Event()
        if central is None and settings.fleet.server_url is not None:
            # In a fleet the screen holds no database credentials: its rows go to the server over HTTP.
            _stop_on_signals(stop)
            _sync_over_http(settings, local or settings.resolved_database_url(), once, stop)
            return
        central_url = central or settings.fleet.central_url
        if not central_url:
            typer.echo(
                "no central database: pass --central URL or set fleet.central_url in signage.yaml "
                "(or fleet.server_url, the central server)",
                err=True,
            )
            raise typer.Exit(2)
        _stop_on_signals(stop)
        try:
            outcome = run_sync(
                local or settings.resolved_database_url(),
                central_url,
                once=once,
                stop=stop,
                interval_s=settings.fleet.sync_interval_s,
                batch_rows=settings.fleet.sync_batch_rows,
            )
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        if outcome.error:
            typer.echo(outcome.error, err=True)
            raise typer.Exit(1)
        typer.echo(
            f"synced {outcome.rows} row(s) to {describe_url(central_url)} in {outcome.passes} pass(es)"
        )
