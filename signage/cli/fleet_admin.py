"""``signage fleet ...``: the central registry (stores, screens, groups) and its releases and alerts.

Every command opens the central database (``--central`` or ``fleet.central_url``), brings the
registry's schema up to date, and answers a refusal with one sentence and exit status 1. Publishing,
alerts and the HTTP server are in ``signage.cli.fleet_content``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine

from signage.cli.common import ConfigOption, settings_or_exit
from signage.clock import SystemClock
from signage.fleet.central.gc import collected_releases
from signage.fleet.central.hours import HoursError, describe_hours, parse_hours
from signage.fleet.central.migrate import upgrade
from signage.fleet.central.registry import (
    RegistryError,
    add_group,
    add_screen,
    add_store,
    get_store,
    group_exists,
    list_groups,
    list_screens,
    list_stores,
    parse_tags,
    remove_screen,
    rotate_token,
    set_hours,
)
from signage.fleet.central.releases import list_releases
from signage.settings import Settings
from signage.store.engine import describe_url, make_engine
from signage.store.sql import one_line

T = TypeVar("T")

fleet_app = typer.Typer(
    help="The fleet's central registry, releases and alerts (docs/fleet.md).", no_args_is_help=True
)
CentralOption = Annotated[
    str | None,
    typer.Option("--central", help="Central PostgreSQL URL (default: fleet.central_url in the settings)."),
]
TagOption = Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeatable).")]


def fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@contextmanager
def central_engine(central: str | None, settings: Settings) -> Iterator[Engine]:
    """The central database, its registry schema up to date; a refusal ends the command."""
    url = central or settings.fleet.central_url
    if not url:
        fail("no central database: pass --central URL or set fleet.central_url in signage.yaml")
    try:
        engine = make_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        fail(f"--central {url!r} is not a database URL SQLAlchemy can open ({exc})")
    try:
        try:
            upgrade(engine)
        except sa.exc.SQLAlchemyError as exc:
            fail(f"cannot open the central database {describe_url(url)}: {one_line(exc)}")
        yield engine
    finally:
        engine.dispose()


def refusals(action: Callable[[], T]) -> T:
    """Run ``action``; a refused change or a database failure becomes one sentence and exit 1."""
    try:
        return action()
    except (RegistryError, HoursError) as exc:
        fail(str(exc))
    except sa.exc.SQLAlchemyError as exc:
        fail(f"the central database refused the change: {one_line(exc)}")


def _fleet_group(app: typer.Typer) -> typer.Typer:
    """The ``signage fleet`` group: another module's if it registered first (``fleet join``), else ours."""
    for group in app.registered_groups:
        if group.name == "fleet" and group.typer_instance is not None:
            return group.typer_instance
    app.add_typer(fleet_app, name="fleet")
    return fleet_app


def register(app: typer.Typer) -> None:
    fleet = _fleet_group(app)
    stores = typer.Typer(help="Stores: name, time zone and opening hours.", no_args_is_help=True)
    screens = typer.Typer(help="Screens and their tokens.", no_args_is_help=True)
    groups = typer.Typer(help="Groups of screens, by tags and/or by list.", no_args_is_help=True)
    releases = typer.Typer(help="Published releases.", no_args_is_help=True)
    fleet.add_typer(stores, name="stores")
    fleet.add_typer(screens, name="screens")
    fleet.add_typer(groups, name="groups")
    fleet.add_typer(releases, name="releases")
    clock = SystemClock()

    @stores.command("add")
    def stores_add(
        store_id: Annotated[str, typer.Argument(help="Store id (letters, digits, . _ -).")],
        timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Paris.")],
        name: Annotated[str, typer.Option("--name", help="A readable name.")] = "",
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Add a store."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            store = refusals(lambda: add_store(conn, store_id, name, timezone, clock.now_utc()))
        typer.echo(f"store {store.store_id} ({store.name}, {store.timezone}) added")

    @stores.command("hours")
    def stores_hours(
        store_id: Annotated[str, typer.Argument(help="Store id.")],
        week: Annotated[
            list[str] | None, typer.Option("--week", help="'mon-fri 08:00-20:00' (repeatable).")
        ] = None,
        closed: Annotated[
            list[str] | None, typer.Option("--closed", help="A closed date, 2026-12-25.")
        ] = None,
        special: Annotated[
            list[str] | None, typer.Option("--special", help="A date's own hours, '2026-12-24 09:00-14:00'.")
        ] = None,
        always_open: Annotated[
            bool, typer.Option("--always-open", help="No hours: never powered down.")
        ] = False,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Set a store's opening hours (they replace the previous ones; days not named are closed)."""
        if always_open and (week or closed or special):
            fail("--always-open takes no --week, --closed or --special")
        if not always_open and not week:
            fail("give the weekly hours with --week 'mon-fri 08:00-20:00' (or --always-open)")
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            store = get_store(conn, store_id)
            if store is None:
                fail(f"no store {store_id!r}; add it with `signage fleet stores add`")
            hours = (
                None
                if always_open
                else refusals(lambda: parse_hours(store.timezone, week or (), closed or (), special or ()))
            )
            refusals(lambda: set_hours(conn, store_id, hours))
        typer.echo(f"store {store_id} ({store.timezone}): {describe_hours(hours)}")

    @stores.command("list")
    def stores_list(central: CentralOption = None, config: ConfigOption = None) -> None:
        """Every store with its time zone and hours."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.connect() as conn:
            rows = list_stores(conn)
        for store in rows:
            typer.echo(
                f"{store.store_id:<20} {store.timezone:<20} {store.name}: {describe_hours(store.hours)}"
            )
        typer.echo(f"{len(rows)} store(s)", err=True)

    @screens.command("add")
    def screens_add(
        screen_id: Annotated[str, typer.Argument(help="Screen id (its settings' screen_id).")],
        store: Annotated[str, typer.Option("--store", help="The store it stands in.")],
        timezone: Annotated[str | None, typer.Option("--timezone", help="Default: the store's.")] = None,
        tag: TagOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Register a screen and print its token, once (only its hash is kept)."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            tags = refusals(lambda: parse_tags(tag or ()))
            token = refusals(
                lambda: add_screen(conn, screen_id, store, clock.now_utc(), timezone=timezone, tags=tags)
            )
        typer.echo(f"screen {screen_id} added; its token, shown only now:", err=True)
        typer.echo(token)

    @screens.command("list")
    def screens_list(
        removed: Annotated[bool, typer.Option("--removed", help="Also list removed screens.")] = False,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Every screen: store, time zone, tags and groups."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.connect() as conn:
            rows = list_screens(conn, include_removed=removed)
            member_of: dict[str, list[str]] = {}
            for group in list_groups(conn):
                for screen_id in group.members:
                    member_of.setdefault(screen_id, []).append(group.name)
        for s in rows:
            tags = ",".join(f"{k}={v}" for k, v in sorted(s.tags.items())) or "-"
            state = (
                f"removed {s.removed_utc:%Y-%m-%d}"
                if s.removed_utc
                else ",".join(member_of.get(s.screen_id, [])) or "(no group)"
            )
            typer.echo(f"{s.screen_id:<20} {s.store_id:<16} {s.timezone:<18} {tags:<24} {state}")
        typer.echo(f"{len(rows)} screen(s)", err=True)

    @screens.command("remove")
    def screens_remove(
        screen_id: Annotated[str, typer.Argument(help="Screen id.")],
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Revoke a screen's token and take it out of every group (its history stays)."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            refusals(lambda: remove_screen(conn, screen_id, clock.now_utc()))
        typer.echo(f"screen {screen_id} removed; its token no longer works")

    @screens.command("rotate-token")
    def screens_rotate(
        screen_id: Annotated[str, typer.Argument(help="Screen id.")],
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Give a screen a new token (the old one stops working) and print it, once."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            token = refusals(lambda: rotate_token(conn, screen_id))
        typer.echo(
            f"screen {screen_id}: the old token no longer works; the new one, shown only now:", err=True
        )
        typer.echo(token)

    @groups.command("add")
    def groups_add(
        name: Annotated[str, typer.Argument(help="Group name.")],
        tag: TagOption = None,
        screen: Annotated[
            list[str] | None, typer.Option("--screen", help="A member screen (repeatable).")
        ] = None,
        every: Annotated[bool, typer.Option("--all", help="Every screen of the fleet.")] = False,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Add a group: the screens whose tags all match, plus the listed ones."""
        if every and tag:
            fail("--all takes no --tag: it already holds every screen")
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            selector = {} if every else (refusals(lambda: parse_tags(tag)) if tag else None)
            refusals(lambda: add_group(conn, name, clock.now_utc(), selector=selector, members=screen or ()))
            members = next(g.members for g in list_groups(conn) if g.name == name)
        typer.echo(f"group {name} added: {len(members)} screen(s) now: {', '.join(members) or '-'}")

    @groups.command("list")
    def groups_list(central: CentralOption = None, config: ConfigOption = None) -> None:
        """Every group, its selector, listed screens and resolved members."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.connect() as conn:
            rows = list_groups(conn)
        for g in rows:
            listed = ",".join(g.listed) or "-"
            typer.echo(
                f"{g.name:<20} tags {g.describe_selector():<24} listed {listed:<20} members: {', '.join(g.members) or '-'}"
            )
        typer.echo(f"{len(rows)} group(s)", err=True)

    @releases.command("list")
    def releases_list(
        group: Annotated[str, typer.Option("--group", help="The group.")],
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """A group's releases, oldest first: number, time, files, size and origin."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.connect() as conn:
            if not group_exists(conn, group, include_removed=True):  # a removed group's, for audit
                fail(f"no group {group!r}; `signage fleet groups list` shows them")
            rows = list_releases(conn, group)
            collected = collected_releases(conn, group)
        for row in rows:
            r = row.release
            size_mb = r.total_bytes / 1e6
            gone = f"  [files collected {collected[r.number]:%Y-%m-%d}]" if r.number in collected else ""
            typer.echo(
                f"{r.release_id:<24} {r.created_utc:%Y-%m-%d %H:%M:%S}Z {len(r.files):>4} file(s) {size_mb:9.1f} MB  {row.note}{gone}"
            )
        typer.echo(f"{len(rows)} release(s)", err=True)

    from signage.cli import fleet_content, fleet_gc, fleet_push, fleet_registry

    fleet_content.register(fleet)
    fleet_push.register(fleet)
    fleet_registry.register(fleet)
    fleet_gc.register(fleet)


def blob_dir_of(settings: Settings, option: Path | None) -> Path:
    """``--blob-dir``, or ``fleet.blob_dir`` (relative to the data folder)."""
    if option is not None:
        return option
    path = settings.fleet.blob_dir
    return path if path.is_absolute() else settings.data_dir / path
