"""Wiring: build every stage from the settings, run the loop on the main thread, shut down in order.

Start-up never gives up on a bad file: a broken catalog plays the standby slide, a broken rule
table plays the house rotation, a missing camera means "audience unknown". Start-up is an ordered
stack: each stage registers its close as it is built, so whatever fails half-way still stops the
threads already running and flushes the store. Shutdown unwinds it: stop is set, then perception
and camera are joined, the reloader, the player closed (the loop has closed the open play as
interrupted by then), the progress record, and last the store, which journals what it could not write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from classifier.attributes.manifest import ModelError
from signage.audience.factory import build_perception_stage
from signage.audience.stage import PerceptionStage
from signage.camera.base import SourceError
from signage.camera.capture import CameraStage
from signage.camera.factory import open_source
from signage.catalog import catalog_reloader
from signage.clock import Clock, SystemClock
from signage.domain import AudienceSnapshot, Catalog
from signage.feed import open_feed
from signage.fleet.agent.wiring import release_reloaders, release_store, start_agent
from signage.fleet.directives import FileDirectives, FleetDirectives
from signage.fleet.hours_settings import LocalHours
from signage.fleet.override import Override
from signage.fleet.power import choose_power
from signage.fleet.release_id import current_release
from signage.fleet.uplink import start_uplink
from signage.impressions.observer import ImpressionObserver
from signage.impressions.occupancy import OccupancyObserver
from signage.loop import LoopConfig, PlayObserver, SlotLoop
from signage.playback.base import Player
from signage.reloader import Checkable, Reloader, ReloadThread
from signage.service.notify import notify_stopping
from signage.service.observer import systemd_observers
from signage.settings import Settings
from signage.startup import log_startup
from signage.status import HeartbeatObserver
from signage.store import StoreWriter, open_store, progress_file
from signage.store.progress import ProgressFile, ProgressObserver
from signage.targeting.holder import rules_reloader
from signage.targeting.programme import Programme
from signage.targeting.ruleset import RuleSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    headless: bool = False
    duration_s: float | None = None
    screenshots: Path | None = None
    seed: int | None = None
    first_load_s: float = 30.0  # how long start-up waits for the first catalog and rules
    models_dir: Path | None = None  # the face model's folder; None: the project's models/
    local_feed: bool = False  # feed.enabled auto, no broker set: use one answering at 127.0.0.1:1883 (demo)


def display_available() -> bool:
    return sys.platform != "linux" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _first_load(reload: ReloadThread, wait_s: float) -> None:
    """Load the catalog and rules before the first slot, off this thread: a file that takes too
    long to load (it should not, but it is user data) leaves the standby slide on, not a frozen start."""
    done = threading.Event()

    def first() -> None:
        reload.check_all()
        done.set()

    threading.Thread(target=first, name="first-load", daemon=True).start()
    if not done.wait(wait_s):
        log.error("catalog and rules still loading after %.0f s: the standby slide plays meanwhile", wait_s)


def _stop_and_join(stop: threading.Event, join: Callable[[float], object]) -> None:
    stop.set()  # every thread sees it before the first one is waited for
    join(5.0)


def _open_camera(settings: Settings, stop: threading.Event) -> CameraStage | None:
    try:
        return CameraStage(open_source(settings.camera.source, settings.camera), settings.camera, stop)
    except SourceError as exc:
        log.error("camera disabled: %s", exc)
        return None


def run(settings: Settings, options: RunOptions) -> int:
    """Run the player until a signal, the window closing, or ``duration_s``; returns an exit code."""
    log_startup(settings, options.models_dir)
    headless = options.headless
    if not headless and not display_available():
        log.warning("no display found (DISPLAY is not set): running headless")
        headless = True
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    _install_signal_handlers(stop)
    clock = SystemClock()
    with contextlib.ExitStack() as stack:
        # First built, last closed: whatever happens next, what was stored is flushed or journaled.
        store = open_store(settings)
        stack.callback(store.close)
        progress = progress_file(settings)
        stack.callback(progress.close)

        rules: Reloader[RuleSet] | None
        checks: list[Checkable]
        if settings.fleet.server_url is not None:  # in a fleet: play the release the agent keeps current
            releases = release_store(settings)
            catalog, rules, steady = release_reloaders(settings, releases, clock.monotonic)
            checks = list(steady)
        else:
            catalog = catalog_reloader(
                settings.catalog, default_image_s=settings.display.image_duration_s, clock=clock.monotonic
            )
            rules = (
                rules_reloader(
                    settings.rules, settings.tz, clock.monotonic, settings.perception.estimate_emotion
                )
                if settings.rules
                else None
            )
            checks = [catalog, *([rules] if rules else [])]
        reload = ReloadThread(checks, stop)
        _first_load(reload, options.first_load_s)
        reload.start()
        stack.callback(_stop_and_join, stop, reload.join)
        if settings.fleet.server_url is not None:
            start_agent(settings, releases, stop, clock, stack)  # stopped before the reloader

        camera = _open_camera(settings, stop)
        closed = threading.Event()  # set outside opening hours: perception pauses
        perception: PerceptionStage | None = None
        if camera is not None and settings.perception.enabled:
            try:
                perception = build_perception_stage(settings, camera, stop, options.models_dir, closed)
            except ModelError as exc:
                # A broken install is refused before anything starts, in one sentence (DESIGN principle 10).
                log.critical("cannot start: %s", exc)
                return 2
        if camera is not None:
            camera.start()
            stack.callback(_stop_and_join, stop, camera.join)
        if perception is not None:
            perception.start()
            stack.callback(_stop_and_join, stop, perception.join)

        from signage.playback.pygame_player import PygamePlayer  # pygame initialises on import

        display = settings.display.model_copy(update={"privacy_notice_text": settings.notice_text()})
        player = PygamePlayer(display, standby=lambda: catalog.current().standby, headless=headless)
        stack.callback(player.close)
        feed = open_feed(settings, probe_local=options.local_feed)
        if feed is not None:
            stack.callback(feed.close)  # after the loop has closed the open play
        override = None
        directives: FleetDirectives | None = None
        if settings.fleet.server_url is not None:  # alerts and opening hours, as the agent keeps them
            directives = FileDirectives.under(settings.data_dir, clock.monotonic)
        if settings.hours is not None:  # the screen's own opening hours win over the fleet's
            directives = LocalHours(settings.hours.store_hours(settings.timezone), directives)
        if directives is not None:
            override = Override(
                directives, settings.screen_id, choose_power(headless=headless), store, closed
            )
        uplink = start_uplink(  # heartbeats, rows and screenshots to fleet.server_url (none without)
            settings,
            player,
            clock,
            stack,
            camera_online=lambda: camera is not None and camera.status().online,
            power=lambda: "off" if closed.is_set() else "on",
            camera_covered=lambda: camera is not None and camera.covered,
        )
        loop = _build_loop(
            settings,
            options,
            store,
            progress,
            catalog,
            rules,
            camera,
            perception,
            player,
            clock,
            feed.observer if feed is not None else None,
            override,
            uplink,
        )
        if options.duration_s is not None:
            timer = threading.Timer(options.duration_s, stop.set)
            timer.daemon = True
            timer.start()
            stack.callback(timer.cancel)
        stack.callback(notify_stopping)  # unwound first: systemd hears STOPPING=1 as shutdown begins
        log.info("player started on screen %s", settings.screen_id)
        try:
            loop.run(stop)
        finally:
            log.info("player stopping after %d play(s)", loop.plays_started)
    return 0


def _build_loop(
    settings: Settings,
    options: RunOptions,
    store: StoreWriter,
    progress: ProgressFile,
    catalog: Reloader[Catalog],
    rules: Reloader[RuleSet] | None,
    camera: CameraStage | None,
    perception: PerceptionStage | None,
    player: Player,
    clock: Clock,
    feed: PlayObserver | None = None,
    override: Override | None = None,
    uplink: Sequence[PlayObserver] = (),
) -> SlotLoop:
    programme = Programme(
        catalog.current,
        settings.policy,
        settings.tz,
        random.Random(options.seed),
        rules=rules.current if rules is not None else (lambda: None),
    )

    def audience() -> AudienceSnapshot:
        return (
            perception.snapshot() if perception is not None else AudienceSnapshot.unknown(clock.monotonic())
        )

    release_id = current_release(settings.data_dir)  # the fleet release on screen, read by mtime
    observers: list[PlayObserver] = [
        ProgressObserver(progress, clock.now_utc),
        HeartbeatObserver(
            store,
            screen_id=settings.screen_id,
            store_id=settings.store_id,
            camera_online=lambda: camera is not None and camera.status().online,
            rules_status=lambda: (True, "") if rules is None else (rules.status.valid, rules.status.error),
            catalog_status=lambda: (catalog.status.valid, catalog.status.error),
            now_utc=clock.now_utc,
            monotonic=clock.monotonic,
            release_id=release_id,
        ),
        ImpressionObserver(
            store,
            threshold_s=settings.impressions.viewer_threshold_s,
            before_window_s=settings.impressions.before_window_s,
        ),
        OccupancyObserver(store, settings.screen_id, clock.now_utc, clock.monotonic),  # where people stand
        *systemd_observers(lambda: None if camera is None else camera.status().online, clock.monotonic),
        *([feed] if feed is not None else []),  # the live audience feed (signage.feed)
        *uplink,  # the fleet uplink's status and screenshots (signage.fleet.uplink)
    ]
    if options.screenshots is not None:
        options.screenshots.mkdir(parents=True, exist_ok=True)
    return SlotLoop(
        LoopConfig(
            screen_id=settings.screen_id,
            standby_slot_s=settings.display.standby_slot_s,
            screenshots=options.screenshots,
        ),
        player,
        store,
        audience,
        programme.decide,
        clock,
        observers,
        catalog_version=lambda: catalog.version,
        release_id=release_id,
        override=override,
    )
