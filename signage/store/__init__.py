"""Proof-of-play and impression storage (SQLModel over SQLite or PostgreSQL)."""
