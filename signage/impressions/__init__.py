"""Impressions: what the audience did during each play (metrics, storage)."""

from signage.impressions.metrics import (
    DEFAULT_VIEWER_THRESHOLD_S,
    CompositionCell,
    Impression,
    ImpressionAccumulator,
    SnapshotWindow,
    TrackImpression,
)

__all__ = [
    "DEFAULT_VIEWER_THRESHOLD_S",
    "CompositionCell",
    "Impression",
    "ImpressionAccumulator",
    "SnapshotWindow",
    "TrackImpression",
]
