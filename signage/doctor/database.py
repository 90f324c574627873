"""The doctor's database check: it opens, its migrations are known, and a write goes through
(inside a transaction that is rolled back: nothing is left behind)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from signage.doctor.result import Check, Level
from signage.settings import Settings


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def probe_database(settings: Settings, where: str) -> Check:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from signage.store.engine import describe_url, make_engine
    from signage.store.migrate import alembic_config, current_revision, head_revision

    url = settings.resolved_database_url()
    shown = describe_url(url)
    parsed = make_url(url)
    fix = f"check {where} (is the server running, may this user write?)"
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        # Not created here: the player creates it, with its tables, at first start.
        return Check("database", Level.OK, f"{shown} will be created at first start")
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        head = head_revision()
        if revision is None:
            state = "empty: the player creates its tables at first start"
        elif revision == head:
            state = f"at {head}"
        else:
            try:
                ScriptDirectory.from_config(alembic_config()).get_revision(revision)
            except CommandError:
                return Check("database", Level.FAIL,
                             f"{shown} is at migration {revision}, which this version does not know (a newer signage wrote it)",
                             "upgrade this screen's signage to the version that wrote the database")  # fmt: skip
            state = f"at {revision}: upgraded to {head} at the next start"
        with engine.connect() as conn, conn.begin() as transaction:
            if inspect(conn).has_table("alembic_version"):
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('doctor-probe')"))
            elif conn.dialect.name == "sqlite":
                if not os.access(str(parsed.database), os.W_OK):
                    return Check(
                        "database", Level.FAIL, f"{shown}: the file is not writable by this user", fix
                    )
            else:
                conn.execute(text("CREATE TABLE signage_doctor_probe (x INTEGER)"))
            transaction.rollback()
    except SQLAlchemyError as exc:
        return Check("database", Level.FAIL, f"{shown}: {_first_line(exc)}", fix)
    finally:
        engine.dispose()
    return Check("database", Level.OK, f"{shown} {state}; a test write rolled back")
