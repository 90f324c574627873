"""``signage fleet publish|alert|alert-clear|alerts list|serve``: content for the fleet, and its API.

A publish is validated as a screen would load it (``signage.fleet.central.bundle``), its files are
stored once by hash, the numbered release is written in one transaction, and only then is a
retained "release" command pushed on the group's topic. A broker that is down is a warning: the
screens find the release at their next poll.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer

from signage.cli.common import ConfigOption, settings_or_exit, setup_logging
from signage.cli.fleet_admin import CentralOption, blob_dir_of, central_engine, fail, refusals
from signage.clock import SystemClock
from signage.feed.mqtt import Broker
from signage.fleet.central.alerts import clear_alert, create_alert, list_alerts, parse_until
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.bundle import BundleError, Validation, prepare_bundle
from signage.fleet.central.commands import CommandPublisher, MqttCommandPublisher, MqttStatusRelay
from signage.fleet.central.gc import blob_lock
from signage.fleet.central.registry import group_exists, list_groups, list_screens
from signage.fleet.central.releases import insert_release, republish, store_blobs
from signage.fleet.protocol import Command, CommandKind, group_topic
from signage.settings import Settings
from signage.store.migrate import upgrade as store_upgrade
from signage.store.sql import one_line

BrokerOption = Annotated[
    str | None, typer.Option("--broker", help="MQTT broker, mqtt://host:port (default: feed.mqtt_url).")
]
PrefixOption = Annotated[
    str | None, typer.Option("--topic-prefix", help="MQTT topic prefix (default: feed.topic_prefix).")
]
BlobDirOption = Annotated[
    Path | None, typer.Option("--blob-dir", help="The blob store (default: fleet.blob_dir under data_dir).")
]
GroupOption = Annotated[str, typer.Option("--group", help="The group.")]


def push(
    settings: Settings,
    broker: str | None,
    prefix: str | None,
    group: str,
    kind: CommandKind,
    release_id: str | None = None,
    publisher: CommandPublisher | None = None,
) -> None:
    """Push a retained command on the group's topic; a failure is a warning, never an exit."""
    url = broker or settings.feed.mqtt_url
    if publisher is None:
        if url is None:
            typer.echo(
                "note: no MQTT broker (feed.mqtt_url or --broker): screens see it at their next poll",
                err=True,
            )
            return
        publisher = MqttCommandPublisher(Broker.from_url(url))
    topic = group_topic(prefix or settings.feed.topic_prefix, group)
    command = Command(kind, release_id, SystemClock().now_utc())
    result = publisher.publish(topic, command, retain=True)
    if result.ok:
        typer.echo(f"pushed '{kind}' on {topic}")
    else:
        typer.echo(f"warning: not pushed: {result.reason}; screens see it at their next poll", err=True)


def _validation(settings: Settings, timezones: list[str], allow_warnings: bool) -> Validation:
    return Validation(
        timezones=tuple(dict.fromkeys(timezones)) or (settings.timezone,),
        estimate_emotion=settings.perception.estimate_emotion,
        policy=settings.policy,
        image_duration_s=settings.display.image_duration_s,
        allow_warnings=allow_warnings,
    )


def register(fleet_app: typer.Typer) -> None:
    alerts = typer.Typer(help="Emergency alerts.", no_args_is_help=True)
    fleet_app.add_typer(alerts, name="alerts")
    clock = SystemClock()

    @fleet_app.command("publish")
    def publish_command(
        group: GroupOption,
        catalog: Annotated[Path | None, typer.Option("--catalog", help="The ad catalog to publish.")] = None,
        rules: Annotated[list[Path] | None, typer.Option("--rules", help="A rule file (repeatable).")] = None,
        more_rules: Annotated[
            list[Path] | None,
            typer.Argument(help="More rule files, so that --rules rules/*.yaml works.", show_default=False),
        ] = None,
        from_release: Annotated[
            int | None, typer.Option("--from-release", help="Publish release N's files again (a rollback).")
        ] = None,
        allow_warnings: Annotated[
            bool, typer.Option("--allow-warnings", help="Publish despite rule-check warnings.")
        ] = False,
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        blob_dir: BlobDirOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Validate and publish a catalog and rules to a group as its next numbered release."""
        rules = [*(rules or []), *(more_rules or [])]
        if (catalog is None) == (from_release is None):
            fail("give either --catalog (and --rules) or --from-release N")
        if from_release is not None and rules:
            fail("--from-release publishes that release's own rules; it takes no --rules")
        settings = settings_or_exit(config)
        blobs = BlobStore(blob_dir_of(settings, blob_dir))
        with central_engine(central, settings) as engine:
            with engine.connect() as conn:
                found = next((g for g in list_groups(conn) if g.name == group), None)
                if found is None:
                    fail(f"no group {group!r}; add it with `signage fleet groups add`")
                zones = [s.timezone for s in list_screens(conn) if s.screen_id in found.members]
            if from_release is not None:
                with blob_lock(engine, exclusive=False):  # `signage fleet gc` waits
                    release = refusals(lambda: republish(engine, blobs, group, from_release, clock.now_utc()))
                copied = 0
            else:
                assert catalog is not None
                try:
                    bundle = prepare_bundle(
                        catalog, rules or [], _validation(settings, zones, allow_warnings)
                    )
                except BundleError as exc:
                    for finding in exc.findings:
                        typer.echo(str(finding), err=True)
                    fail(f"nothing was published: {len(exc.findings)} problem(s)")
                for warning in bundle.warnings:
                    typer.echo(str(warning), err=True)
                note = f"{catalog} ({bundle.ads} ads) + {len(rules or [])} rule file(s)"
                with blob_lock(engine, exclusive=False):  # from the first file to the commit
                    entries, copied = store_blobs(blobs, bundle.files)
                    release = refusals(lambda: insert_release(engine, group, entries, note, clock.now_utc()))
        typer.echo(
            f"published {release.release_id}: {len(release.files)} file(s), "
            f"{release.total_bytes / 1e6:.1f} MB, {copied} new in the blob store"
        )
        push(settings, broker, topic_prefix, group, "release", release.release_id)

    @fleet_app.command("alert")
    def alert_command(
        group: GroupOption,
        message: Annotated[str, typer.Option("--message", help="What the screens show.")],
        media: Annotated[
            Path | None, typer.Option("--media", help="An image or video shown with it.")
        ] = None,
        until: Annotated[
            str | None, typer.Option("--until", help="+30m, +2h, +1d or a time (default: until cleared).")
        ] = None,
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        blob_dir: BlobDirOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Show an alert on every screen of a group, ahead of every ad, until cleared or expired."""
        settings = settings_or_exit(config)
        now = clock.now_utc()
        ends = refusals(lambda: parse_until(until, now, settings.tz)) if until else None
        blobs = BlobStore(blob_dir_of(settings, blob_dir))
        with central_engine(central, settings) as engine, blob_lock(engine, exclusive=False):
            alert = refusals(
                lambda: create_alert(engine, blobs, group, message, now, media=media, until=ends)
            )
        ending = f"until {alert.until_utc:%Y-%m-%d %H:%M}Z" if alert.until_utc else "until cleared"
        typer.echo(f"alert {alert.alert_id} for group {group}, {ending}")
        push(settings, broker, topic_prefix, group, "alert")

    @fleet_app.command("alert-clear")
    def alert_clear_command(
        alert_id: Annotated[str, typer.Argument(help="The alert's id (`signage fleet alerts list`).")],
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """End an alert now on every screen of its group."""
        settings = settings_or_exit(config)
        with central_engine(central, settings) as engine:
            alert = refusals(lambda: clear_alert(engine, alert_id, clock.now_utc()))
        typer.echo(f"alert {alert.alert_id} cleared")
        push(settings, broker, topic_prefix, alert.group, "alert")

    @alerts.command("list")
    def alerts_list(
        group: Annotated[str | None, typer.Option("--group", help="Only this group's.")] = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Every alert, oldest first, with whether it is still shown."""
        settings = settings_or_exit(config)
        now = clock.now_utc()
        with central_engine(central, settings) as engine, engine.connect() as conn:
            if group is not None and not group_exists(conn, group, include_removed=True):
                fail(f"no group {group!r}; `signage fleet groups list` shows them")
            rows = list_alerts(conn, group=group)
        for a in rows:
            state = "active" if a.active(now) else ("cleared" if a.cleared else "expired")
            media = a.media.path if a.media else "-"
            typer.echo(
                f"{a.alert_id}  {a.group:<16} {a.created_utc:%Y-%m-%d %H:%M}Z {state:<8} {media:<28} {a.message}"
            )
        typer.echo(f"{len(rows)} alert(s)", err=True)

    @fleet_app.command("serve")
    def serve_command(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8600,
        blob_dir: BlobDirOption = None,
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """The HTTP API screens poll (put it behind a TLS proxy: docs/fleet.md)."""
        import uvicorn

        from signage.fleet.central.health_monitor import serve_monitor
        from signage.fleet.central.server import create_app
        from signage.web.server import uvicorn_options

        settings = settings_or_exit(config)
        setup_logging(settings.log_level)
        blobs = blob_dir_of(settings, blob_dir)
        url = broker or settings.feed.mqtt_url
        relay = MqttStatusRelay(Broker.from_url(url)) if url else None
        try:
            with central_engine(central, settings) as engine:
                try:  # screens upload their play rows into the store's tables
                    store_upgrade(engine)
                except sa.exc.SQLAlchemyError as exc:
                    fail(f"cannot create the play tables in the central database: {one_line(exc)}")
                app = create_app(
                    engine,
                    blobs,
                    status_publisher=relay,
                    topic_prefix=topic_prefix or settings.feed.topic_prefix,
                )
                monitor = serve_monitor(engine, settings, url, topic_prefix, blobs)  # fleet health
                uvicorn.run(
                    app,
                    host=host,
                    port=port,
                    log_level=settings.log_level.lower(),
                    **uvicorn_options(settings.web),
                )
                monitor.stop_and_join()
        finally:
            if relay is not None:
                relay.close()
