"""Audience perception: faces per frame become people (tracks) with dwell, attention and attributes."""

from signage.audience.config import TrackerConfig
from signage.audience.tracker import AttributeRequest, Tracker

__all__ = ["AttributeRequest", "Tracker", "TrackerConfig"]
