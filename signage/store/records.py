"""What each thing the player stores becomes for the writer: one ``Record`` (its kind, key and rows).

A newer record of the same kind and key replaces an older one (a play's end replaces its start,
a screen's heartbeat its previous one). Each function checks the values the way the database
will and raises ``ValueError`` with the reason for a bad one; the writer reports it and drops it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from signage.domain import Play
from signage.store.base import Heartbeat
from signage.store.journal import Record
from signage.store.models import heartbeat_values, play_values

if TYPE_CHECKING:
    from signage.fleet.power import PowerEvent
    from signage.impressions.metrics import Impression
    from signage.impressions.occupancy import OccupancyCell

PLAY, HEARTBEAT, IMPRESSION, OCCUPANCY, POWER_EVENT = (
    "play",
    "heartbeat",
    "impression",
    "occupancy",
    "power_event",
)


def play_record(play: Play) -> Record:
    return Record(PLAY, play.play_id, {"play": (play_values(play),)})


def heartbeat_record(heartbeat: Heartbeat) -> Record:
    return Record(HEARTBEAT, heartbeat.screen_id, {"heartbeat": (heartbeat_values(heartbeat),)})


def impression_record(impression: Impression, screen_id: str, recorded_at: datetime) -> Record:
    """A finished impression and its tracks, keyed by its play (same play_id)."""
    # Imported here, like every table module below: see ``signage.store.sql.stored_tables``.
    from signage.impressions.tables import impression_rows

    row, tracks = impression_rows(impression, screen_id, recorded_at)
    rows = {
        "impression": (row.model_dump(exclude={"sync_seq"}),),
        "impression_track": tuple(t.model_dump(exclude={"sync_seq"}) for t in tracks),
    }
    return Record(IMPRESSION, impression.play_id, rows)


def occupancy_record(
    screen_id: str, run_id: uuid.UUID, hour: datetime, cells: tuple[OccupancyCell, ...]
) -> Record:
    """One hour's floor-cell totals of a player run; they overwrite the run's earlier ones."""
    from signage.impressions.occupancy_table import occupancy_values

    rows = occupancy_values(screen_id, run_id, hour, cells)
    return Record(OCCUPANCY, f"{screen_id}/{run_id}/{hour.isoformat()}", {"occupancy": rows})


def power_event_record(event: PowerEvent) -> Record:
    """One change of the screen's power (``signage.fleet.power``)."""
    from signage.fleet.power_table import power_event_values

    return Record(POWER_EVENT, event.event_id, {"power_event": (power_event_values(event),)})
