"""Run alembic migrations programmatically (at start-up and from `signage db upgrade`).

One :class:`History` runs any alembic history: the store's (here, the default version table) and the
central fleet registry's (``signage.fleet.central.migrate``, its own version table). The module-level
functions are the store's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class History:
    """An alembic history: its folder, its version table and the PostgreSQL advisory lock under which
    it upgrades (many players may upgrade one central database at the same moment)."""

    folder: Path
    what: str  # "database", "central registry": for log lines and errors
    lock_key: int  # any constant; it only has to be the same for everyone upgrading this history
    version_table: str = "alembic_version"

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.folder))
        return config

    def head_revision(self) -> str:
        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        if head is None:
            raise RuntimeError(f"the {self.what} has no migrations")
        return head

    def _context(self, conn: Connection) -> MigrationContext:
        return MigrationContext.configure(conn, opts={"version_table": self.version_table})

    def current_revision(self, engine: Engine) -> str | None:
        with engine.connect() as conn:
            return self._context(conn).get_current_revision()

    def upgrade(self, engine: Engine, revision: str = "head") -> str | None:
        """Bring the schema to ``revision``; returns the revision it was at before."""
        config = self.alembic_config()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.lock_key})
            before = self._context(conn).get_current_revision()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        if before != self.head_revision():
            log.info("%s upgraded from %s to %s", self.what, before or "empty", revision)
        return before

    def downgrade(self, engine: Engine, revision: str) -> None:
        config = self.alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, revision)


MIGRATIONS = Path(__file__).with_name("migrations")
STORE = History(MIGRATIONS, "database", 5_120_001)

alembic_config = STORE.alembic_config
head_revision = STORE.head_revision
current_revision = STORE.current_revision
upgrade = STORE.upgrade
downgrade = STORE.downgrade
