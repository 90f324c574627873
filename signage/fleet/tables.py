"""Which tables the fleet sync ships.

A table is shipped when it has a ``sync_seq`` column (kept by the triggers in
``signage.store.syncseq``) and a single- or multi-column primary key that is the same on every
screen (a UUID, or the screen id for heartbeats). Add the module that defines a new synced
SQLModel table to ``MODEL_MODULES`` so the sync knows its columns and types.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from sqlmodel import SQLModel

from signage.store.syncseq import SYNC_COLUMN

MODEL_MODULES: tuple[str, ...] = (
    "signage.store.models",
    "signage.impressions.tables",
    "signage.impressions.occupancy_table",
    "signage.fleet.power_table",
)


def synced_tables() -> tuple[sa.Table, ...]:
    """Every registered table with a ``sync_seq`` column, parents before children."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    tables = [t for t in SQLModel.metadata.sorted_tables if SYNC_COLUMN in t.c]
    # Plays first (the rows others describe), heartbeats last: the central database then never
    # shows an impression without its play, nor a screen status newer than its plays.
    return tuple(sorted(tables, key=lambda t: (t.name != "play", t.name == "heartbeat")))
