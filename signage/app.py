"""Wiring: build every stage from the settings, run the loop on the main thread, shut down in order.

Start-up never gives up on a bad file: a broken catalog plays the standby slide, a broken rule
table plays the house rotation, a missing camera means "audience unknown". Shutdown follows the
data flow: camera, perception, loop (the open play is closed as interrupted), player, store.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from classifier.attributes.manifest import ModelError
from signage.audience.factory import build_perception_stage
from signage.audience.stage import PerceptionStage
from signage.camera.base import SourceError
from signage.camera.capture import CameraStage
from signage.camera.factory import open_source
from signage.catalog import load_catalog
from signage.catalog_watch import CatalogWatcher
from signage.domain import AudienceSnapshot, Catalog
from signage.impressions.observer import ImpressionObserver
from signage.impressions.sink import SqlImpressionSink
from signage.loop import LoopConfig, PlayObserver, SlotLoop
from signage.programme import Programme
from signage.settings import Settings
from signage.status import HeartbeatObserver
from signage.store import open_store
from signage.targeting.holder import RulesHolder
from signage.yamlconf import ConfigError

log = logging.getLogger(__name__)


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now_utc(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class RunOptions:
    headless: bool = False
    duration_s: float | None = None
    screenshots: Path | None = None
    seed: int | None = None


def display_available() -> bool:
    return sys.platform != "linux" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def load_catalog_or_empty(settings: Settings) -> Catalog:
    try:
        return load_catalog(settings.catalog, default_image_s=settings.display.image_duration_s)
    except ConfigError as exc:
        for finding in exc.findings:
            log.error("catalog not loaded, the standby slide plays until it is fixed: %s", finding)
        return Catalog(ads=())


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run(settings: Settings, options: RunOptions) -> int:
    """Run the player until a signal, the window closing, or ``duration_s``; returns an exit code."""
    headless = options.headless
    if not headless and not display_available():
        log.warning("no display found (DISPLAY is not set): running headless")
        headless = True
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    _install_signal_handlers(stop)
    clock = SystemClock()

    catalog = load_catalog_or_empty(settings)
    log.info("catalog: %d playable ad(s), %d left out", len(catalog.ads), len(catalog.skipped))

    camera: CameraStage | None = None
    try:
        camera = CameraStage(open_source(settings.camera.source, settings.camera), settings.camera, stop)
    except SourceError as exc:
        log.error("camera disabled: %s", exc)
    perception: PerceptionStage | None = None
    if camera is not None and settings.perception.enabled:
        try:
            perception = build_perception_stage(settings, camera, stop)
        except ModelError as exc:
            # A broken install is refused before anything starts, in one sentence (DESIGN principle 10).
            log.critical("cannot start: %s", exc)
            return 2

    store = open_store(settings)
    impressions = SqlImpressionSink(store.engine)
    if camera is not None:
        camera.start()
    if perception is not None:
        perception.start()

    from signage.playback.pygame_player import PygamePlayer  # pygame initialises on import

    rng = random.Random(options.seed)
    holder = RulesHolder(settings.rules, settings.tz) if settings.rules else None
    catalog_watch = CatalogWatcher(
        settings.catalog, catalog, stop, default_image_s=settings.display.image_duration_s
    )
    player = PygamePlayer(settings.display, standby=lambda: catalog_watch.current().standby, headless=headless)
    catalog_watch.start()
    programme = Programme(
        catalog_watch.current,
        settings.policy,
        settings.tz,
        rng,
        rules=(lambda: holder.current(time.monotonic())) if holder else (lambda: None),
    )

    def rules_status() -> tuple[bool, str]:
        return (True, "") if holder is None else (holder.status.valid, holder.status.error)

    def audience() -> AudienceSnapshot:
        return perception.snapshot() if perception is not None else AudienceSnapshot.unknown(time.monotonic())

    observers: list[PlayObserver] = [
        HeartbeatObserver(
            store,
            screen_id=settings.screen_id,
            store_id=settings.store_id,
            camera_online=lambda: camera is not None and camera.status().online,
            rules_status=rules_status,
            now_utc=clock.now_utc,
            monotonic=clock.monotonic,
        ),
        ImpressionObserver(
            impressions,
            threshold_s=settings.impressions.viewer_threshold_s,
            before_window_s=settings.impressions.before_window_s,
        ),
    ]
    if options.screenshots is not None:
        options.screenshots.mkdir(parents=True, exist_ok=True)
    loop = SlotLoop(
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
        catalog_version=lambda: catalog_watch.version,
    )
    timer = None
    if options.duration_s is not None:
        timer = threading.Timer(options.duration_s, stop.set)
        timer.daemon = True
        timer.start()
    log.info("player started on screen %s", settings.screen_id)
    try:
        loop.run(stop)
    finally:
        stop.set()
        if timer is not None:
            timer.cancel()
        if camera is not None:
            camera.join(timeout=5.0)
        if perception is not None:
            perception.join(timeout=5.0)
        catalog_watch.join(timeout=5.0)
        player.close()
        impressions.close()
        store.close()
        log.info("player stopped after %d play(s)", loop.plays_started)
    return 0
