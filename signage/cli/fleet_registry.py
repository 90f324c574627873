"""``signage fleet groups remove|show`` and ``signage fleet stores remove`` (see
``signage.fleet.central.removal`` for what removing keeps)."""

from __future__ import annotations

from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.cli.fleet_admin import CentralOption, central_engine, refusals
from signage.clock import SystemClock
from signage.fleet.central.removal import group_view, remove_group, remove_store


def subcommands(fleet: typer.Typer, name: str) -> typer.Typer:
    for group in fleet.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    raise LookupError(f"`signage fleet {name}` is not registered yet")


def register(fleet: typer.Typer) -> None:
    groups, stores = subcommands(fleet, "groups"), subcommands(fleet, "stores")
    clock = SystemClock()

    @groups.command("remove")
    def groups_remove(
        name: Annotated[str, typer.Argument(help="Group name.")],
        force: Annotated[
            bool,
            typer.Option("--force", help="Detach a group that has releases or alerts; they stay for audit."),
        ] = False,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Remove a group (refused while it has releases or alerts, unless --force)."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            deleted = refusals(lambda: remove_group(conn, name, clock.now_utc(), force=force))
        if deleted:
            typer.echo(f"group {name} deleted")
        else:
            typer.echo(
                f"group {name} removed: it holds no screen and takes no publish; its releases and "
                "alerts are kept for audit (`signage fleet releases list --group` still shows them)"
            )

    @groups.command("show")
    def groups_show(
        name: Annotated[str, typer.Argument(help="Group name.")],
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """A group's selector, members (what each should play and says it plays), release and alerts."""
        now = clock.now_utc()
        with central_engine(central, settings_or_exit(config)) as engine, engine.connect() as conn:
            view = refusals(lambda: group_view(conn, name, now))
        g = view.group
        typer.echo(f"group {g.name}: tags {g.describe_selector()}, listed {', '.join(g.listed) or '-'}")
        if view.newest is None:
            typer.echo("release: none yet")
        else:
            r = view.newest.release
            typer.echo(
                f"release: {r.release_id} of {r.created_utc:%Y-%m-%d %H:%M}Z ({view.releases} in all), "
                f"{len(r.files)} file(s), {view.newest.note}"
            )
        typer.echo(f"members: {len(view.members)}")
        for m in view.members:
            heard = (
                f"{m.reported or 'none'} (heard {m.heard_utc:%Y-%m-%d %H:%M}Z)"
                if m.heard_utc
                else "never heard"
            )
            typer.echo(f"  {m.screen_id:<20} should play {m.expected or 'none':<20} says {heard}")
        typer.echo(f"active alerts: {len(view.alerts)}")
        for a in view.alerts:
            until = f"until {a.until_utc:%Y-%m-%d %H:%M}Z" if a.until_utc else "until cleared"
            typer.echo(f"  {a.alert_id} {until}: {a.message}")

    @stores.command("remove")
    def stores_remove(
        store_id: Annotated[str, typer.Argument(help="Store id.")],
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Remove a store that no active screen stands in (its history stays; adding it again restores it)."""
        with central_engine(central, settings_or_exit(config)) as engine, engine.begin() as conn:
            refusals(lambda: remove_store(conn, store_id, clock.now_utc()))
        typer.echo(f"store {store_id} removed")
