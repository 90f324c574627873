"""``signage fleet collect|screenshot|screenshot-get``: commands pushed to chosen screens.

Both pushes go over MQTT only (QoS 1, not retained, on each screen's own topic: see
``signage.fleet.central.push``); there is no polling fallback, so a broker that cannot be reached is
one sentence and exit status 1. ``screenshot-get`` copies what a screen last uploaded from the blob
store, for an admin without the dashboard.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from signage.cli.common import ConfigOption, settings_or_exit
from signage.cli.fleet_admin import CentralOption, blob_dir_of, central_engine, fail, refusals
from signage.cli.fleet_content import BlobDirOption, BrokerOption, PrefixOption
from signage.clock import SystemClock
from signage.feed.mqtt import Broker
from signage.fleet.central.commands import CommandPublisher, MqttCommandPublisher
from signage.fleet.central.push import (
    copy_screenshot,
    push_to_screens,
    stored_screenshot,
    target_screens,
)
from signage.fleet.protocol import CommandKind
from signage.settings import Settings

ScreenOption = Annotated[str | None, typer.Option("--screen", help="One screen.")]
OutOption = Annotated[Path, typer.Option("--out", help="Where to write the PNG.")]


def publisher_for(settings: Settings, broker: str | None) -> CommandPublisher:
    url = broker or settings.feed.mqtt_url
    if url is None:
        fail(
            "no MQTT broker: pass --broker mqtt://host:port or set feed.mqtt_url; it is the only way to reach a screen"
        )
    try:
        return MqttCommandPublisher(Broker.from_url(url))
    except ValueError as exc:
        fail(f"--broker {url!r}: {exc}")


def _push(
    settings: Settings,
    central: str | None,
    broker: str | None,
    prefix: str | None,
    kind: CommandKind,
    *,
    screen: str | None,
    group: str | None = None,
) -> None:
    with central_engine(central, settings) as engine, engine.connect() as conn:
        screens = refusals(lambda: target_screens(conn, screen=screen, group=group))
    publisher = publisher_for(settings, broker)
    outcome = push_to_screens(
        publisher, prefix or settings.feed.topic_prefix, screens, kind, SystemClock().now_utc()
    )
    if not outcome.ok:
        done = f" (sent to {len(outcome.sent)} of {len(screens)} screen(s))" if outcome.sent else ""
        fail(f"'{kind}' not sent: {outcome.failed}{done}")
    typer.echo(f"'{kind}' sent to {len(screens)} screen(s): {', '.join(screens)}")


def _describe(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def register(fleet_app: typer.Typer) -> None:
    @fleet_app.command("collect")
    def collect_command(
        screen: ScreenOption = None,
        group: Annotated[str | None, typer.Option("--group", help="Every screen of a group.")] = None,
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Have screens ship their plays and impressions now (a screen that is off does it on return)."""
        _push(settings_or_exit(config), central, broker, topic_prefix, "collect", screen=screen, group=group)

    @fleet_app.command("screenshot")
    def screenshot_command(
        screen: Annotated[str, typer.Option("--screen", help="The screen.")],
        out: Annotated[
            Path | None, typer.Option("--out", help="Wait for the new screenshot and write it here.")
        ] = None,
        wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for it with --out.")] = 30.0,
        broker: BrokerOption = None,
        topic_prefix: PrefixOption = None,
        blob_dir: BlobDirOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Ask a screen for a picture of what it shows (never the camera); it uploads it in seconds."""
        settings = settings_or_exit(config)
        root = blob_dir_of(settings, blob_dir)
        before = stored_screenshot(root, screen)
        _push(settings, central, broker, topic_prefix, "screenshot", screen=screen)
        if out is None:
            typer.echo(f"fetch it with `signage fleet screenshot-get --screen {screen} --out FILE`", err=True)
            return
        deadline = time.monotonic() + wait
        while True:
            shot = stored_screenshot(root, screen)
            if shot is not None and (before is None or shot.taken_utc_ts > before.taken_utc_ts):
                copy_screenshot(shot, out)
                typer.echo(f"{out}: screenshot of {screen} received {_describe(shot.taken_utc_ts)}")
                return
            if time.monotonic() >= deadline:
                fail(f"no new screenshot of {screen} within {wait:g} s; is it on, and its uplink running?")
            time.sleep(0.25)

    @fleet_app.command("screenshot-get")
    def screenshot_get_command(
        screen: Annotated[str, typer.Option("--screen", help="The screen.")],
        out: OutOption,
        blob_dir: BlobDirOption = None,
        central: CentralOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Copy the last screenshot a screen uploaded to a file."""
        settings = settings_or_exit(config)
        root = blob_dir_of(settings, blob_dir)
        with central_engine(central, settings) as engine, engine.connect() as conn:
            refusals(lambda: target_screens(conn, screen=screen))  # a known screen, a safe file name
        shot = stored_screenshot(root, screen)
        if shot is None:
            fail(
                f"no screenshot of {screen} in {root}; ask for one with `signage fleet screenshot --screen {screen}`"
            )
        try:
            copy_screenshot(shot, out)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
        typer.echo(f"{out}: screenshot of {screen} from {_describe(shot.taken_utc_ts)}, {shot.size} bytes")
