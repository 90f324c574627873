"""Alembic migrations of the signage database, run programmatically (see signage.store.migrate)."""
