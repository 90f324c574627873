"""Where finished impressions go: the store's writer (``signage.store.writer.StoreWriter``) or the fake."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from signage.impressions.metrics import Impression
from signage.impressions.tables import IMPRESSION, IMPRESSION_TRACK, impression_rows
from signage.store.sql import upsert


class ImpressionSink(Protocol):
    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        """Queue one finished impression (same play_id as its play); never raises on bad data."""

    def flush(self, timeout_s: float | None = None) -> bool:
        """Block until everything queued so far is committed; False if ``timeout_s`` ran out first."""

    def close(self, timeout_s: float = 10.0) -> None: ...


def write_impression(
    engine: sa.Engine, impression: Impression, screen_id: str, recorded_at: datetime
) -> None:
    """Store one impression and its track rows; writing the same one twice changes nothing."""
    row, tracks = impression_rows(impression, screen_id, recorded_at)
    with engine.begin() as conn:
        # Upserts leave sync_seq to the triggers, so a rewritten row is shipped again by the sync.
        upsert(conn, IMPRESSION, [row.model_dump(exclude={"sync_seq"})])
        upsert(conn, IMPRESSION_TRACK, [t.model_dump(exclude={"sync_seq"}) for t in tracks])


class MemoryImpressionSink:
    """The fake beside the store writer's ``record``: keeps what it was given, in order."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Impression, str, datetime]] = []

    def record(self, impression: Impression, screen_id: str, recorded_at: datetime) -> None:
        self.recorded.append((impression, screen_id, recorded_at))

    def flush(self, timeout_s: float | None = None) -> bool:
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        return None
