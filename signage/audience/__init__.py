"""Audience perception: faces per frame become people (tracks) with dwell, attention and attributes."""

from signage.audience.config import TrackerConfig
from signage.audience.ports import AttributeModelLike, FakeAttributeModel, FakeLatestFrame, LatestFrame
from signage.audience.stage import Perception, PerceptionStage, PerceptionStats
from signage.audience.tracker import AttributeRequest, Tracker

__all__ = [
    "AttributeModelLike",
    "AttributeRequest",
    "FakeAttributeModel",
    "FakeLatestFrame",
    "LatestFrame",
    "Perception",
    "PerceptionStage",
    "PerceptionStats",
    "Tracker",
    "TrackerConfig",
]
