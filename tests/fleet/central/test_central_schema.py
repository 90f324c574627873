"""The registry's own migrations: what they build is what the tables declare, beside the store's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from signage.fleet.central import tables as t
from signage.fleet.central.migrate import current_revision, downgrade, head_revision, upgrade
from signage.fleet.central.releases import insert_release
from signage.fleet.protocol import ReleaseFile
from signage.store import migrate as store_migrate

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.postgres


def test_the_migrated_schema_is_the_declared_one(central: Engine) -> None:
    with central.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, t.metadata)
    declared = {table.name for table in t.metadata.sorted_tables}
    # Everything else in the database (other histories' tables) shows as "remove_table": ignore those.
    assert [d for d in diff if not (d[0] == "remove_table" and d[1].name not in declared)] == []
    assert current_revision(central) == head_revision()


def test_the_registry_and_the_store_keep_separate_histories(central: Engine) -> None:
    store_migrate.upgrade(central)
    assert upgrade(central) == head_revision()  # already there: nothing to do
    names = set(sa.inspect(central).get_table_names())
    assert {"fleet_alembic_version", "alembic_version", "play", "fleet_release"} <= names
    assert store_migrate.current_revision(central) == store_migrate.head_revision()
    downgrade(central, "base")
    names = set(sa.inspect(central).get_table_names())
    assert "fleet_release" not in names and "play" in names
    assert current_revision(central) is None and store_migrate.current_revision(central) is not None


def test_the_database_refuses_to_change_a_release(central: Engine) -> None:
    with central.begin() as conn:
        conn.execute(t.group.insert().values(name="g", selector={}, created_utc=NOW))
    insert_release(central, "g", [ReleaseFile("catalog.yaml", "a" * 64, 3)], "test", NOW)
    with pytest.raises(sa.exc.DBAPIError, match="immutable"), central.begin() as conn:
        conn.execute(t.release.update().values(note="changed"))
    with pytest.raises(sa.exc.DBAPIError, match="immutable"), central.begin() as conn:
        conn.execute(t.release_file.update().values(sha256="a" * 64))
