"""The ``occupancy`` table: per screen, UTC hour, player run and 1 m floor cell, counts only.

Rows hold two numbers per cell (distinct people, seconds of presence); no track id, no position of
anyone, no image. ``run_id`` is a random id per player start, so each run overwrites its own totals
(idempotent writes) and a restart within the hour adds a row instead of erasing one; reports sum it.
The key is the same on every screen, so the fleet sync ships the table like the others.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.impressions.occupancy import OccupancyCell
from signage.store.types import UTCDateTime


class OccupancyRow(SQLModel, table=True):
    __tablename__ = "occupancy"
    __table_args__ = (sa.Index("ix_occupancy_sync_seq", "sync_seq"),)

    screen_id: str = Field(sa_type=sa.String(64), primary_key=True)
    hour: datetime = Field(sa_type=UTCDateTime(), primary_key=True)
    run_id: uuid.UUID = Field(sa_type=sa.Uuid(), primary_key=True)
    cell_x: int = Field(primary_key=True)
    cell_y: int = Field(primary_key=True)
    people: int
    person_s: float
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


OCCUPANCY = OccupancyRow.__table__  # type: ignore[attr-defined]


def occupancy_values(
    screen_id: str, run_id: uuid.UUID, hour: datetime, cells: tuple[OccupancyCell, ...]
) -> tuple[dict[str, object], ...]:
    """Column values for one hour's cells; ValueError (one sentence) for values that cannot be stored."""
    if hour.tzinfo is None or hour.minute or hour.second or hour.microsecond:
        raise ValueError(f"an occupancy hour is a whole UTC hour, got {hour.isoformat()}")
    rows = []
    for c in cells:
        if c.people < 0 or not c.person_s >= 0:
            raise ValueError(f"occupancy counts cannot be negative, got {c.people} and {c.person_s}")
        rows.append(
            {
                "screen_id": screen_id,
                "hour": hour,
                "run_id": run_id,
                "cell_x": int(c.cell_x),
                "cell_y": int(c.cell_y),
                "people": int(c.people),
                "person_s": float(c.person_s),
            }
        )
    return tuple(rows)
