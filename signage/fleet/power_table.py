"""The ``power_event`` table: each time this screen's panel was switched on or off, and why.

One row per change, keyed by a random UUID (the same on every screen and centrally), with a
``sync_seq`` so the fleet sync ships it like plays and heartbeats. Created by migration
``0007_power_events``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.fleet.power import PowerEvent
from signage.fleet.uplink_protocol import POWER_STATES
from signage.store.types import UTCDateTime

POWER_REASONS = ("hours", "manual", "alert")


class PowerEventRow(SQLModel, table=True):
    __tablename__ = "power_event"
    __table_args__ = (
        sa.Index("ix_power_event_screen_id_at", "screen_id", "at"),
        sa.Index("ix_power_event_sync_seq", "sync_seq"),
    )

    event_id: uuid.UUID = Field(sa_type=sa.Uuid(), primary_key=True)
    screen_id: str = Field(sa_type=sa.String(64))
    at: datetime = Field(sa_type=UTCDateTime())
    state: str = Field(sa_type=sa.String(8))
    reason: str = Field(sa_type=sa.String(16))
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


POWER_EVENT = PowerEventRow.__table__  # type: ignore[attr-defined]


def power_event_values(event: PowerEvent) -> dict[str, object]:
    """Column values of ``event``; ValueError (one sentence) for an event that cannot be stored."""
    try:
        event_id = uuid.UUID(event.event_id)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"power event id {event.event_id!r} is not a UUID") from exc
    if event.state not in POWER_STATES:
        raise ValueError(f"power state {event.state!r} is not one of {', '.join(POWER_STATES)}")
    if event.reason not in POWER_REASONS:
        raise ValueError(f"power change reason {event.reason!r} is not one of {', '.join(POWER_REASONS)}")
    if event.at.tzinfo is None:
        raise ValueError(f"power event {event.event_id} has a time without a time zone")
    return {
        "event_id": event_id,
        "screen_id": event.screen_id,
        "at": event.at,
        "state": event.state,
        "reason": event.reason,
    }
