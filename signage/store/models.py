"""The tables (SQLModel) and the mapping to and from the shared vocabulary.

Only this module and the migrations know column names; the rest of the program speaks
``signage.domain.Play`` and ``signage.store.base.Heartbeat``. The schema itself is owned by the
alembic migrations; these classes must match them (a test compares the two).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.domain import Play, PlayOutcome, PlayRecord
from signage.store.base import Heartbeat
from signage.store.types import UTCDateTime

OUTCOMES = tuple(o.value for o in PlayOutcome)


class PlayRow(SQLModel, table=True):
    __tablename__ = "play"
    __table_args__ = (
        sa.Index("ix_play_campaign_started_at", "campaign", "started_at"),
        sa.Index("ix_play_screen_id_started_at", "screen_id", "started_at"),
        sa.Index("ix_play_ad_id_started_at", "ad_id", "started_at"),
        sa.Index("ix_play_started_at", "started_at"),
        sa.Index("ix_play_sync_seq", "sync_seq"),
        # Dashboard: an advertiser's campaigns. Created by migration 0002_impressions.
        sa.Index("ix_play_advertiser_campaign", "advertiser", "campaign"),
    )

    play_id: uuid.UUID = Field(sa_type=sa.Uuid(), primary_key=True)
    screen_id: str = Field(sa_type=sa.String(64))
    ad_id: str = Field(sa_type=sa.String(128))
    advertiser: str = Field(sa_type=sa.String(128))
    campaign: str = Field(sa_type=sa.String(128))
    rule: str = Field(default="", sa_type=sa.String(128))
    started_at: datetime = Field(sa_type=UTCDateTime())
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    planned_s: float = Field(sa_type=sa.Float())
    actual_s: float = Field(default=0.0, sa_type=sa.Float())
    outcome: str | None = Field(default=None, sa_type=sa.String(16))
    reason: str = Field(default="", sa_type=sa.Text())
    audience_known: bool = False
    present_at_start: int = 0
    watching_at_start: int = 0
    # The fleet release on screen when the play started (``<group>#<number>``); None without one.
    release_id: str | None = Field(default=None, sa_type=sa.String(80))
    # Local change counter for the fleet sync, set by a trigger (see syncseq.py); never shipped.
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


class HeartbeatRow(SQLModel, table=True):
    __tablename__ = "heartbeat"
    __table_args__ = (sa.Index("ix_heartbeat_sync_seq", "sync_seq"),)

    screen_id: str = Field(sa_type=sa.String(64), primary_key=True)
    store_id: str = Field(sa_type=sa.String(64))
    last_seen: datetime = Field(sa_type=UTCDateTime())
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    playing_ad_id: str | None = Field(default=None, sa_type=sa.String(128))
    camera_online: bool = False
    rules_valid: bool = True
    rules_error: str = Field(default="", sa_type=sa.Text())
    catalog_valid: bool = True
    catalog_error: str = Field(default="", sa_type=sa.Text())
    app_version: str = Field(default="", sa_type=sa.String(64))
    release_id: str | None = Field(default=None, sa_type=sa.String(80))
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


class SyncState(SQLModel, table=True):
    """How far each local table has been shipped to each central database (kept locally)."""

    __tablename__ = "sync_state"

    target: str = Field(sa_type=sa.String(255), primary_key=True)
    table_name: str = Field(sa_type=sa.String(64), primary_key=True)
    last_seq: int = Field(default=0, sa_type=sa.BigInteger())
    updated_at: datetime = Field(sa_type=UTCDateTime())


def play_values(play: Play) -> dict[str, object]:
    """Column values for ``play``; raises ValueError with one sentence when it cannot be stored."""
    try:
        play_id = uuid.UUID(play.play_id)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"play_id {play.play_id!r} of ad {play.ad_id!r} is not a UUID") from exc
    if play.started_at is None:
        raise ValueError(f"play {play.play_id} of ad {play.ad_id!r} has no started_at")
    return {
        "play_id": play_id,
        "screen_id": play.screen_id,
        "ad_id": play.ad_id,
        "advertiser": play.advertiser,
        "campaign": play.campaign,
        "rule": play.rule,
        "started_at": play.started_at,
        "ended_at": play.ended_at,
        "planned_s": float(play.planned_s),
        "actual_s": float(play.actual_s),
        "outcome": None if play.outcome is None else PlayOutcome(play.outcome).value,
        "reason": play.reason,
        "audience_known": bool(play.audience_known),
        "present_at_start": int(play.present_at_start),
        "watching_at_start": int(play.watching_at_start),
        "release_id": play.release_id,
    }


def heartbeat_values(beat: Heartbeat) -> dict[str, object]:
    return {
        "screen_id": beat.screen_id,
        "store_id": beat.store_id,
        "last_seen": beat.last_seen,
        "started_at": beat.started_at,
        "playing_ad_id": beat.playing_ad_id,
        "camera_online": bool(beat.camera_online),
        "rules_valid": bool(beat.rules_valid),
        "rules_error": beat.rules_error,
        "catalog_valid": bool(beat.catalog_valid),
        "catalog_error": beat.catalog_error,
        "app_version": beat.app_version,
        "release_id": beat.release_id,
    }


def row_to_play(row: sa.Row[Any]) -> Play:
    m = row._mapping
    outcome = m["outcome"]
    return Play(
        play_id=str(m["play_id"]),
        screen_id=m["screen_id"],
        ad_id=m["ad_id"],
        advertiser=m["advertiser"],
        campaign=m["campaign"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        planned_s=m["planned_s"],
        actual_s=m["actual_s"],
        outcome=None if outcome is None else PlayOutcome(outcome),
        reason=m["reason"],
        rule=m["rule"],
        audience_known=m["audience_known"],
        present_at_start=m["present_at_start"],
        watching_at_start=m["watching_at_start"],
        release_id=m["release_id"],
    )


def row_to_heartbeat(row: sa.Row[Any]) -> Heartbeat:
    m = row._mapping
    return Heartbeat(
        screen_id=m["screen_id"],
        store_id=m["store_id"],
        last_seen=m["last_seen"],
        playing_ad_id=m["playing_ad_id"],
        camera_online=m["camera_online"],
        rules_valid=m["rules_valid"],
        rules_error=m["rules_error"],
        catalog_valid=m["catalog_valid"],
        catalog_error=m["catalog_error"],
        app_version=m["app_version"],
        started_at=m["started_at"],
        release_id=m["release_id"],
    )


def record_of(play: Play) -> PlayRecord:
    return PlayRecord(ad_id=play.ad_id, campaign=play.campaign, started_at=play.started_at)


PLAY = PlayRow.__table__  # type: ignore[attr-defined]
HEARTBEAT = HeartbeatRow.__table__  # type: ignore[attr-defined]
SYNC_STATE = SyncState.__table__  # type: ignore[attr-defined]
