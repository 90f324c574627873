"""``signage report``, ``signage serve`` and ``signage users``: reports and the dashboard."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging
from signage.reports.model import FIRST_DAY, LAST_DAY
from signage.settings import Settings
from signage.yamlconf import ConfigError

DbOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Database to read (default: web.database_url, else the device's)."),
]


def _engine(settings: Settings, url: str | None) -> Engine:
    from signage.reports.query import tune_for_reports
    from signage.store.engine import describe_url, make_engine
    from signage.store.migrate import upgrade

    url = url or settings.web.database_url or settings.resolved_database_url()
    engine = tune_for_reports(make_engine(url))
    try:
        upgrade(engine)
    except Exception as exc:  # any driver error: say which database, in one line
        typer.echo(f"cannot open the database {describe_url(url)}: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(1) from exc
    return engine


def _costs(settings: Settings) -> dict[str, float]:
    from signage.catalog import load_catalog

    try:
        catalog = load_catalog(settings.catalog, probe=False)
    except ConfigError as exc:
        typer.echo(f"warning: no costs (catalog {settings.catalog} unusable): {exc.findings[0]}", err=True)
        return {}
    return {ad.ad_id: ad.cost_per_play for ad in catalog.ads if ad.cost_per_play is not None}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-05-31", param_hint=option) from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise typer.BadParameter(f"{value} is not between {FIRST_DAY} and {LAST_DAY}", param_hint=option)
    return day


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        advertiser: Annotated[str | None, typer.Option(help="Only this advertiser's plays.")] = None,
        campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
        ad: Annotated[str | None, typer.Option("--ad", help="Only this ad id.")] = None,
        screen: Annotated[str | None, typer.Option(help="Only this screen id.")] = None,
        date_from: Annotated[
            str | None, typer.Option("--from", help="First day (store-local), 2026-05-01.")
        ] = None,
        date_to: Annotated[
            str | None, typer.Option("--to", help="Last day (store-local, inclusive).")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="json, csv, html or pdf.")] = "json",
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="Output file (default: stdout for json/csv, report.html / report.pdf otherwise).",
            ),
        ] = None,
        config: ConfigOption = None,
        database_url: DbOption = None,
    ) -> None:
        """Plays, opportunities to see, viewers, attention, audience and CPM, per ad and campaign."""
        from signage.reports.model import ReportFilter
        from signage.reports.query import build_report
        from signage.reports.render import FORMATS, render

        if fmt not in FORMATS:
            raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
        settings = settings_or_exit(config)
        f = ReportFilter(
            advertiser=advertiser,
            campaign=campaign,
            ad_id=ad,
            screen_id=screen,
            date_from=_day(date_from, "--from"),
            date_to=_day(date_to, "--to"),
        )
        engine = _engine(settings, database_url)
        result = build_report(engine, f, settings.tz, now=datetime.now(UTC), costs=_costs(settings))
        data = render(result, fmt)
        if out is None and fmt in ("json", "csv"):
            sys.stdout.write(data.decode())
            return
        target = out or Path(f"report.{fmt}")
        target.write_bytes(data)
        typer.echo(
            f"{fmt} report ({result.total.plays} plays, {result.total.viewers} viewers) written to {target}"
        )

    @app.command("serve")
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on (default: web.host).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default: web.port).")] = None,
        config: ConfigOption = None,
        database_url: DbOption = None,
    ) -> None:
        """The dashboard: campaign reports behind a login (create accounts with `signage users add`)."""
        import uvicorn

        from signage.web.app import create_app
        from signage.web.secret import SecretError
        from signage.web.server import uvicorn_options, web_config

        settings = settings_or_exit(config)
        setup_logging(settings.log_level)  # failed logins, lockouts and the secret's creation
        engine = _engine(settings, database_url)
        bind = host or settings.web.host
        try:
            config_ = web_config(settings, bind, _costs(settings))
        except SecretError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        uvicorn.run(
            create_app(engine, config_),
            host=bind,
            port=port or settings.web.port,
            log_level=settings.log_level.lower(),
            **uvicorn_options(settings.web),
        )

    users = typer.Typer(help="Dashboard accounts.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        username: Annotated[str, typer.Argument(help="Login name.")],
        role: Annotated[str, typer.Option(help="admin or advertiser.")] = "advertiser",
        advertiser: Annotated[str | None, typer.Option(help="The advertiser this account may see.")] = None,
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from stdin.")
        ] = False,
        config: ConfigOption = None,
        database_url: DbOption = None,
    ) -> None:
        """Create an account, or reset its password and role (which ends its sessions)."""
        from signage.web.users import Role, UserError, add_user

        if role not in ("admin", "advertiser"):
            raise typer.BadParameter(f"{role!r} is not admin or advertiser", param_hint="--role")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        engine = _engine(settings_or_exit(config), database_url)
        try:
            user = add_user(engine, username, password, Role(role), advertiser, datetime.now(UTC))
        except UserError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        typer.echo(
            f"account {user.username} ({user.role.value}{', ' + user.advertiser if user.advertiser else ''}) saved"
        )

    @users.command("remove")
    def users_remove(
        username: Annotated[str, typer.Argument(help="Login name.")],
        config: ConfigOption = None,
        database_url: DbOption = None,
    ) -> None:
        """Delete an account and end its sessions at once."""
        from signage.web.users import UserError, remove_user

        engine = _engine(settings_or_exit(config), database_url)
        try:
            ended = remove_user(engine, username)
        except UserError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        typer.echo(f"account {username} removed ({ended} session{'' if ended == 1 else 's'} ended)")

    @users.command("list")
    def users_list(config: ConfigOption = None, database_url: DbOption = None) -> None:
        """The dashboard accounts."""
        from signage.web.users import list_users

        for user in list_users(_engine(settings_or_exit(config), database_url)):
            typer.echo(f"{user.username}\t{user.role.value}\t{user.advertiser or ''}")
