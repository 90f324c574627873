"""The player in a fleet: what it plays is ``<data_dir>/fleet/current``, kept there by the agent.

``release_reloaders`` are the player's catalog and rule reloaders over ``current``: the same
``Reloader`` (last good value, errors once) as for local files, watching ``current/release.json``
too, whose content differs for every release, so a switch of ``current`` is picked up at the next
reload check. Each check holds ``ReleaseStore.steady()``, so a switch never falls in the middle
of a load. Before the first release ``current`` does not exist: the catalog is missing and the
standby slide plays, as it does for a missing local catalog.

``start_agent`` starts the agent and its MQTT wake-up on the player's exit stack: unwound, the
MQTT client closes first (nothing wakes the agent any more), then the agent is stopped (the one
stop event) and joined, then its HTTP client is closed.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signage.catalog import load_catalog
from signage.clock import Clock
from signage.domain import Catalog
from signage.feed.mqtt import Broker
from signage.fleet.agent.agent import FleetAgent
from signage.fleet.agent.client import FleetError, HttpFleetClient, read_token
from signage.fleet.agent.mqtt import MqttWake, wake_client_id
from signage.fleet.agent.store import RELEASE_JSON, ReleaseStore, fleet_dir
from signage.fleet.agent.validate import ReleaseCheck
from signage.reloader import Reloader
from signage.settings import Settings
from signage.targeting.holder import read_rules
from signage.targeting.ruleset import RuleSet
from signage.yamlconf import ConfigError, Finding

log = logging.getLogger(__name__)

# The commands that wake the agent's poll; ``collect`` and ``screenshot`` are the uplink's.
AGENT_COMMANDS = frozenset({"release", "alert"})


def release_store(settings: Settings) -> ReleaseStore:
    return ReleaseStore(fleet_dir(settings.data_dir))


def token_path(settings: Settings) -> Path:
    path = settings.fleet.token_file
    return path if path.is_absolute() else settings.data_dir / path


@dataclass(frozen=True)
class SteadyCheck:
    """A reloader check that no release switch can interrupt (``ReloadThread`` runs these)."""

    reloader: Reloader[Catalog] | Reloader[RuleSet]
    store: ReleaseStore

    @property
    def name(self) -> str:
        return self.reloader.name

    def check(self) -> bool:
        with self.store.steady():
            return self.reloader.check()


def release_reloaders(
    settings: Settings, store: ReleaseStore, clock: Callable[[], float]
) -> tuple[Reloader[Catalog], Reloader[RuleSet], list[SteadyCheck]]:
    """The catalog and rules of the release in force, and the checks to run on the reload thread."""
    catalog_path = store.current_catalog
    marker = store.current_dir / RELEASE_JSON
    image_s = settings.display.image_duration_s
    catalog = Reloader(
        "catalog",
        [catalog_path, marker],
        lambda: load_catalog(catalog_path, default_image_s=image_s),
        empty=Catalog(ads=()),
        names=lambda value: value.media_files,
        clock=clock,
        describe=lambda value: f"{len(value.ads)} playable ad(s), {len(value.skipped)} left out",
    )

    def load_rules() -> RuleSet:
        if not marker.is_file():
            raise ConfigError([Finding(str(marker), 1, 1, "", "no fleet release received yet")])
        return read_rules(store.current_rule_files(), settings.tz, settings.perception.estimate_emotion)

    rules = Reloader(
        "rules",
        [marker],
        load_rules,
        empty=RuleSet(tz=settings.tz),
        names=lambda value: [Path(f) for f in value.files],
        clock=clock,
        describe=lambda value: f"{len(value.rules)} rule(s) of release {store.current_release_id()}",
    )
    return catalog, rules, [SteadyCheck(catalog, store), SteadyCheck(rules, store)]


def start_agent(
    settings: Settings, store: ReleaseStore, stop: threading.Event, clock: Clock, stack: contextlib.ExitStack
) -> FleetAgent | None:
    """Start the agent (and its MQTT wake-up when ``feed.mqtt_url`` is set); None without a token,
    in which case the release in force keeps playing and the error says how to join."""
    server_url = settings.fleet.server_url
    if server_url is None:
        return None
    try:
        token = read_token(token_path(settings))
    except FleetError as exc:
        log.error("fleet agent not started: %s; the release in force keeps playing", exc)
        return None
    if server_url.startswith("http://"):
        log.warning("fleet server %s is reached without TLS; use https:// beyond a test bench", server_url)
    client = HttpFleetClient(server_url, token)
    stack.callback(client.close)
    agent = FleetAgent(
        client,
        store,
        ReleaseCheck.from_settings(settings).problem,
        stop,
        clock,
        poll_interval_s=settings.fleet.poll_interval_s,
        disk_budget_bytes=settings.fleet.disk_budget_mb * 1024 * 1024,
        rng=random.Random(),
        screen_id=settings.screen_id,
    )
    agent.start()
    stack.callback(agent.stop_and_join, 5.0)
    if settings.feed.mqtt_url is not None:
        try:
            wake = MqttWake(
                Broker.from_url(settings.feed.mqtt_url),
                settings.feed.topic_prefix,
                settings.screen_id,
                lambda command: agent.wake() if command.kind in AGENT_COMMANDS else None,
                client_id=wake_client_id(settings.screen_id, settings.data_dir),
            )
        except Exception as exc:  # a TLS set-up that fails: polling alone delivers the same, later
            log.error(
                "fleet agent: no MQTT commands (%s); it polls every %.0f s",
                exc,
                settings.fleet.poll_interval_s,
            )
        else:
            stack.callback(wake.close)
    log.info(
        "fleet agent started: polling %s every %.0f s; the player plays %s (now %s)",
        server_url,
        settings.fleet.poll_interval_s,
        store.current_dir,
        store.current_release_id() or "no release yet: the standby slide",
    )
    return agent
