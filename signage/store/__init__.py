"""Proof-of-play and impression storage (SQLModel over SQLite or PostgreSQL).

``open_store(settings)`` is what the player calls: it returns the started writer for everything
the player stores, whose migrations, journal replay and crash repair run on its own thread, so a
missing database never delays playback.
"""

from __future__ import annotations

from signage.settings import Settings
from signage.store.base import Heartbeat, HeartbeatSink, PlaySink
from signage.store.engine import make_engine
from signage.store.fake import FakePlaySink
from signage.store.journal import Journal
from signage.store.progress import ProgressFile
from signage.store.writer import StoreStats, StoreWriter

JOURNAL_DIR = "journal"
LEGACY_OVERFLOW_FILE = "unsaved-plays.jsonl"  # plays journaled by versions before the one writer
PROGRESS_FILE = "progress"

__all__ = [
    "FakePlaySink",
    "Heartbeat",
    "HeartbeatSink",
    "PlaySink",
    "StoreStats",
    "StoreWriter",
    "open_store",
    "progress_file",
]


def progress_file(settings: Settings) -> ProgressFile:
    return ProgressFile(settings.data_dir / PROGRESS_FILE)


def open_store(settings: Settings) -> StoreWriter:
    """The started store for this screen: SQLite under ``data_dir`` unless ``database_url`` is set.

    Call it before anything writes a new progress record: crash repair reads the last one.
    """
    engine = make_engine(settings.resolved_database_url())
    journal = Journal(settings.data_dir / JOURNAL_DIR, legacy=[settings.data_dir / LEGACY_OVERFLOW_FILE])
    progress = progress_file(settings).read()
    return StoreWriter(engine, screen_id=settings.screen_id, journal=journal, progress=progress).start()
