"""The screen side of the fleet (docs/fleet.md): pull releases, keep alerts and hours, wake on MQTT.

``ReleaseStore`` is the on-disk state every other stage reads (``current_release_id()``,
``active_alerts(now_utc)``, ``hours()``, ``alert_media(alert)``); ``FleetAgent`` is the one thread
that writes it; ``signage.fleet.agent.wiring`` plugs both into the player.
"""

from __future__ import annotations

from signage.fleet.agent.agent import FleetAgent
from signage.fleet.agent.client import FleetClient, FleetError, HttpFleetClient, StateReply
from signage.fleet.agent.store import ReleaseStore, fleet_dir

__all__ = [
    "FleetAgent",
    "FleetClient",
    "FleetError",
    "HttpFleetClient",
    "ReleaseStore",
    "StateReply",
    "fleet_dir",
]
