"""The impression tables (SQLModel). Uuid keys so the fleet sync can upsert them anywhere.

``impression`` has one row per play (same ``play_id`` as the store's ``play`` row) with the
counts the reports sum in SQL; viewer composition is kept as one column per age band x gender so
a report over millions of plays is a single scan, not a join to per-person rows.
``impression_track`` keeps one anonymous row per person per play (no track id, no image, no
embedding) for audits and exports.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.domain import AgeBand, Gender
from signage.impressions.metrics import Impression
from signage.store.types import UTCDateTime

_BAND_KEYS = {
    AgeBand.CHILD: "child",
    AgeBand.TEEN: "teen",
    AgeBand.A18_24: "18_24",
    AgeBand.A25_34: "25_34",
    AgeBand.A35_44: "35_44",
    AgeBand.A45_54: "45_54",
    AgeBand.A55_64: "55_64",
    AgeBand.A65_PLUS: "65_plus",
}


def composition_column(band: AgeBand, gender: Gender) -> str:
    """Name of the viewer-count column for one age band x gender cell, e.g. ``v_25_34_f``."""
    return f"v_{_BAND_KEYS[band]}_{'f' if gender == Gender.FEMALE else 'm'}"


COMPOSITION_COLUMNS: tuple[tuple[AgeBand, Gender, str], ...] = tuple(
    (band, gender, composition_column(band, gender)) for band in AgeBand for gender in Gender
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ImpressionRow(SQLModel, table=True):
    __tablename__ = "impression"
    __table_args__ = (sa.Index("ix_impression_sync_seq", "sync_seq"),)

    play_id: uuid.UUID = Field(sa_type=sa.Uuid(), primary_key=True)
    screen_id: str = Field(sa_type=sa.String(64))
    recorded_at: datetime = Field(default_factory=_utcnow, sa_type=UTCDateTime())
    threshold_s: float
    audience_known: bool
    ots: int = 0
    viewers: int = 0
    attention_s: float = 0.0
    viewer_attention_s: float = 0.0  # attention of the viewers only (the per-viewer mean's numerator)
    dwell_s: float = 0.0
    possible_minors: int = 0
    happy_before: int = 0
    classified_before: int = 0
    happy_during: int = 0
    classified_during: int = 0
    v_child_f: int = 0
    v_child_m: int = 0
    v_teen_f: int = 0
    v_teen_m: int = 0
    v_18_24_f: int = 0
    v_18_24_m: int = 0
    v_25_34_f: int = 0
    v_25_34_m: int = 0
    v_35_44_f: int = 0
    v_35_44_m: int = 0
    v_45_54_f: int = 0
    v_45_54_m: int = 0
    v_55_64_f: int = 0
    v_55_64_m: int = 0
    v_65_plus_f: int = 0
    v_65_plus_m: int = 0
    # Local change counter for the fleet sync (same scheme as the play table); never shipped.
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


class ImpressionTrackRow(SQLModel, table=True):
    __tablename__ = "impression_track"
    __table_args__ = (
        sa.Index("ix_impression_track_play_id", "play_id"),
        sa.Index("ix_impression_track_sync_seq", "sync_seq"),
    )

    row_id: uuid.UUID = Field(default_factory=uuid.uuid4, sa_type=sa.Uuid(), primary_key=True)
    play_id: uuid.UUID = Field(sa_type=sa.Uuid())
    ordinal: int
    dwell_s: float
    attention_s: float
    viewer: bool
    age_band: str | None = Field(default=None, sa_type=sa.String(8))
    gender: str | None = Field(default=None, sa_type=sa.String(8))
    emotion: str | None = Field(default=None, sa_type=sa.String(10))
    possible_minor: bool = False
    sync_seq: int | None = Field(default=None, sa_type=sa.BigInteger())


IMPRESSION = ImpressionRow.__table__  # type: ignore[attr-defined]
IMPRESSION_TRACK = ImpressionTrackRow.__table__  # type: ignore[attr-defined]


def impression_rows(
    impression: Impression, screen_id: str, recorded_at: datetime | None = None
) -> tuple[ImpressionRow, list[ImpressionTrackRow]]:
    """The rows to store for one impression (the play_id must be a uuid string)."""
    play_id = uuid.UUID(impression.play_id)
    cells = {composition_column(c.age_band, c.gender): c.viewers for c in impression.composition}
    row = ImpressionRow(
        play_id=play_id,
        screen_id=screen_id,
        recorded_at=recorded_at or _utcnow(),
        threshold_s=impression.threshold_s,
        audience_known=impression.audience_known,
        ots=impression.ots,
        viewers=impression.viewers,
        attention_s=impression.attention_s,
        viewer_attention_s=sum(t.attention_s for t in impression.tracks if t.viewer),
        dwell_s=impression.dwell_s,
        possible_minors=impression.possible_minors,
        happy_before=impression.happy_before,
        classified_before=impression.classified_before,
        happy_during=impression.happy_during,
        classified_during=impression.classified_during,
        **cells,
    )
    tracks = [
        ImpressionTrackRow(
            # Derived from play and ordinal, so writing the same impression twice is idempotent.
            row_id=uuid.uuid5(play_id, str(t.ordinal)),
            play_id=play_id,
            ordinal=t.ordinal,
            dwell_s=t.dwell_s,
            attention_s=t.attention_s,
            viewer=t.viewer,
            age_band=None if t.age_band is None else t.age_band.value,
            gender=None if t.gender is None else t.gender.value,
            emotion=None if t.emotion is None else t.emotion.value,
            possible_minor=t.possible_minor,
        )
        for t in impression.tracks
    ]
    return row, tracks
