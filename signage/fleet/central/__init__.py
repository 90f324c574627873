"""The central side of the fleet (docs/fleet.md): the registry, releases, alerts and the HTTP API.

Only the central server talks to the central PostgreSQL; screens reach it through
``signage.fleet.central.server`` with their bearer token. The schema has its own alembic history
(``migrations/``, version table ``fleet_alembic_version``), apart from the screen store's.
"""
