"""Proof-of-play and impression storage (SQLModel over SQLite or PostgreSQL).

``open_store(settings)`` is what the player calls: it returns a started writer whose migrations,
crash repair and overflow replay run on its own thread, so a missing database never delays playback.
"""

from __future__ import annotations

from signage.settings import Settings
from signage.store.base import Heartbeat, HeartbeatSink, PlaySink
from signage.store.engine import make_engine
from signage.store.fake import FakePlaySink
from signage.store.overflow import OverflowJournal
from signage.store.writer import SqlPlaySink, StoreStats

OVERFLOW_FILE = "unsaved-plays.jsonl"

__all__ = [
    "FakePlaySink",
    "Heartbeat",
    "HeartbeatSink",
    "PlaySink",
    "SqlPlaySink",
    "StoreStats",
    "open_store",
]


def open_store(settings: Settings) -> SqlPlaySink:
    """The started store for this screen: SQLite under ``data_dir`` unless ``database_url`` is set."""
    engine = make_engine(settings.resolved_database_url())
    journal = OverflowJournal(settings.data_dir / OVERFLOW_FILE)
    return SqlPlaySink(engine, screen_id=settings.screen_id, overflow=journal).start()
