"""A full disk for SQLite tests: the database may not grow by one page until the disk is freed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


class SqliteFullDisk:
    """Caps every connection of ``engine`` at the database's present size (``PRAGMA max_page_count``),
    so the next write that needs a page fails as on a full disk; :meth:`free` lifts the cap."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        with engine.connect() as conn:
            self._pages: int | None = conn.exec_driver_sql("PRAGMA page_count").scalar()
        sa.event.listen(engine, "connect", self._cap)
        engine.dispose()  # connections made from now on are capped

    def _cap(self, dbapi_connection: Any, _record: Any) -> None:
        if self._pages is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count={self._pages}")

    def free(self) -> None:
        """The disk has room again (for connections made from now on)."""
        self._pages = None
        self.engine.dispose()
