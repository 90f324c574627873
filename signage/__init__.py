"""Audience-aware digital-signage player."""

__version__ = "0.1.0"
