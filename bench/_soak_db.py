"""The soak bench's database: a fresh PostgreSQL database per run (or the player's SQLite file), read
with plain SQL from outside the player, so the bench measures any version of its store."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get("SIGNAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps naive UTC text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PlayRow:
    play_id: str
    ad_id: str
    started_at: datetime
    ended_at: datetime | None
    planned_s: float
    actual_s: float
    outcome: str | None
    reason: str
    rule: str
    audience_known: bool


@dataclass(frozen=True)
class ImpressionRow:
    play_id: str
    recorded_at: datetime | None


class Database:
    """Where the player stores and the bench reads: PostgreSQL (``kind`` "postgres") or SQLite."""

    def __init__(self, kind: str, bench_url: str, player_url: str | None, name: str = "") -> None:
        self.kind = kind
        self.bench_url = bench_url  # direct, never through the proxy
        self.player_url = player_url  # None: the player's default SQLite under data_dir
        self.name = name
        self.engine = sa.create_engine(bench_url, pool_pre_ping=True)

    @classmethod
    def postgres(cls) -> tuple[Database | None, str]:
        """A new database ``soak_<pid>_<hex>`` on the test server; (None, why) when unreachable."""
        name = f"soak_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.SQLAlchemyError as exc:
            lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            return (
                None,
                f"PostgreSQL at {make_url(ADMIN_URL).render_as_string()} refused ({lines[0] if lines else exc})",
            )
        finally:
            admin.dispose()
        url = make_url(ADMIN_URL).set(database=name)
        return cls("postgres", url.render_as_string(hide_password=False), None, name), ""

    @classmethod
    def sqlite(cls, data_dir: Path) -> Database:
        # Read-only, so the bench never creates the player's file before the player does.
        path = data_dir / "signage.db"
        return cls("sqlite", f"sqlite:///file:{path}?mode=ro&uri=true", None, str(path))

    def url_via(self, host: str, port: int) -> str:
        return make_url(self.bench_url).set(host=host, port=port).render_as_string(hide_password=False)

    def drop(self) -> None:
        self.engine.dispose()
        if self.kind != "postgres":
            return
        admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    # -- reading --------------------------------------------------------------------------------
    def _rows(self, sql: str, **params: object) -> list[sa.Row[Any]]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(sa.text(sql), params))
        except sa.exc.SQLAlchemyError:  # not migrated yet, or the file is not there yet
            return []

    def plays(self, screen_id: str) -> list[PlayRow]:
        rows = self._rows(
            "SELECT play_id, ad_id, started_at, ended_at, planned_s, actual_s, outcome, reason, rule,"
            " audience_known FROM play WHERE screen_id = :s ORDER BY started_at",
            s=screen_id,
        )
        out = []
        for r in rows:
            started = as_utc(r.started_at)
            assert started is not None
            out.append(
                PlayRow(
                    str(r.play_id),
                    r.ad_id,
                    started,
                    as_utc(r.ended_at),
                    float(r.planned_s),
                    float(r.actual_s or 0.0),
                    r.outcome,
                    r.reason or "",
                    r.rule or "",
                    bool(r.audience_known),
                )
            )
        return out

    def impressions(self, screen_id: str) -> list[ImpressionRow]:
        rows = self._rows("SELECT play_id, recorded_at FROM impression WHERE screen_id = :s", s=screen_id)
        return [ImpressionRow(str(r.play_id), as_utc(r.recorded_at)) for r in rows]

    def count_plays(self, screen_id: str, since: datetime, until: datetime) -> int:
        rows = self._rows(
            "SELECT count(*) AS n FROM play WHERE screen_id = :s AND started_at >= :a AND started_at < :b",
            s=screen_id,
            a=self._bind(since),
            b=self._bind(until),
        )
        return int(rows[0].n) if rows else 0

    def heartbeat(self, screen_id: str) -> dict[str, Any] | None:
        """The screen's heartbeat row as a dict (whatever columns this version of the store has)."""
        rows = self._rows("SELECT * FROM heartbeat WHERE screen_id = :s", s=screen_id)
        if not rows:
            return None
        beat = dict(rows[0]._mapping)
        beat["last_seen"] = as_utc(beat.get("last_seen"))
        return beat

    def _bind(self, at: datetime) -> object:
        # SQLite compares text: bind the same naive ISO form the store writes.
        return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if self.kind == "sqlite" else at
