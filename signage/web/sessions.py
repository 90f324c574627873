"""Server-side dashboard sessions: a random id in the cookie, its SHA-256 in the ``web_session`` table.

The cookie carries nothing but ``secrets.token_urlsafe(32)``; the table holds the id's digest (a
leaked table or backup gives no usable cookie), the account, and two deadlines: an absolute one
(``expires_at``, the session's maximum age) and an idle one (``idle_expires_at``, pushed forward as
the session is used). Logging out deletes the row; a password reset or the removal of the account
deletes every row of that account (``web_user`` rows cascade too), so a copied cookie dies with them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.store.types import UTCDateTime

_ID_BYTES = 32


class WebSessionRow(SQLModel, table=True):
    __tablename__ = "web_session"

    id_sha256: str = Field(sa_type=sa.String(64), primary_key=True)
    username: str = Field(
        sa_column=sa.Column(
            sa.String(64),
            sa.ForeignKey("web_user.username", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    created_at: datetime = Field(sa_type=UTCDateTime())
    last_seen_at: datetime = Field(sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime())
    idle_expires_at: datetime = Field(sa_type=UTCDateTime())


WEB_SESSION = WebSessionRow.__table__  # type: ignore[attr-defined]


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    max_age_s: float
    idle_s: float

    @property
    def touch_after_s(self) -> float:
        """How stale ``last_seen_at`` may get before a request writes it (not every request writes)."""
        return min(60.0, self.idle_s / 4)


class SessionStore:
    """Create, look up and delete sessions; every method takes ``now`` (timezone-aware UTC)."""

    def __init__(self, engine: sa.Engine, policy: SessionPolicy) -> None:
        self._engine = engine
        self._policy = policy

    def create(self, username: str, now: datetime) -> str:
        """A new session for ``username``; returns the id for the cookie (stored only as its digest)."""
        session_id = secrets.token_urlsafe(_ID_BYTES)
        with self._engine.begin() as conn:
            # Expired rows of anyone go at each login, so the table stays the size of the live sessions.
            conn.execute(
                WEB_SESSION.delete().where(
                    (WEB_SESSION.c.expires_at <= now) | (WEB_SESSION.c.idle_expires_at <= now)
                )
            )
            conn.execute(
                WEB_SESSION.insert().values(
                    id_sha256=_digest(session_id),
                    username=username,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=self._policy.max_age_s),
                    idle_expires_at=now + timedelta(seconds=self._policy.idle_s),
                )
            )
        return session_id

    def username(self, session_id: str, now: datetime) -> str | None:
        """The account of a live session, or None (unknown, expired or idle too long)."""
        if not session_id or len(session_id) > 128:
            return None
        key = _digest(session_id)
        with self._engine.connect() as conn:
            row = (
                conn.execute(sa.select(WEB_SESSION).where(WEB_SESSION.c.id_sha256 == key)).mappings().first()
            )
        if row is None or now >= row["expires_at"] or now >= row["idle_expires_at"]:
            return None
        if (now - row["last_seen_at"]).total_seconds() >= self._policy.touch_after_s:
            with self._engine.begin() as conn:
                conn.execute(
                    WEB_SESSION.update()
                    .where(WEB_SESSION.c.id_sha256 == key)
                    .values(
                        last_seen_at=now,
                        idle_expires_at=now + timedelta(seconds=self._policy.idle_s),
                    )
                )
        return str(row["username"])

    def delete(self, session_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(WEB_SESSION.delete().where(WEB_SESSION.c.id_sha256 == _digest(session_id)))


def delete_sessions_of(conn: sa.Connection, username: str) -> int:
    """End every session of ``username`` (inside the caller's transaction); returns how many."""
    result = conn.execute(WEB_SESSION.delete().where(WEB_SESSION.c.username == username))
    return int(result.rowcount or 0)


def count_sessions(engine: sa.Engine, username: str) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(WEB_SESSION).where(WEB_SESSION.c.username == username)
        return int(conn.execute(query).scalar_one())
