"""Dashboard accounts: scrypt password hashes (passwords.py) and two roles (admin, advertiser)."""

from __future__ import annotations

import enum
import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.store.types import UTCDateTime
from signage.web.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from signage.web.sessions import delete_sessions_of

log = logging.getLogger(__name__)

__all__ = [
    "WEB_USER",
    "Role",
    "User",
    "UserError",
    "add_user",
    "authenticate",
    "get_user",
    "hash_password",
    "list_users",
    "remove_user",
    "verify_password",
]


class Role(enum.StrEnum):
    ADMIN = "admin"
    ADVERTISER = "advertiser"


class WebUserRow(SQLModel, table=True):
    __tablename__ = "web_user"

    username: str = Field(sa_type=sa.String(64), primary_key=True)
    role: str = Field(sa_type=sa.String(16))
    advertiser: str | None = Field(default=None, sa_type=sa.String(128))
    password_hash: str = Field(sa_type=sa.String(256))
    created_at: datetime = Field(sa_type=UTCDateTime())


WEB_USER = WebUserRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    advertiser: str | None  # the only advertiser an advertiser account may see; None for admins

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so a wrong name takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


class UserError(ValueError):
    """An account that cannot be created or removed; the message is one sentence."""


def add_user(
    engine: sa.Engine, username: str, password: str, role: Role, advertiser: str | None, now: datetime
) -> User:
    """Create or replace an account (replacing resets the password and ends the account's sessions)."""
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"user name {username!r} must be 1-64 letters, digits, '-' or '_'")
    problem = password_problem(password, username)
    if problem is not None:
        raise UserError(f"{problem} (account {username!r})")
    if role == Role.ADVERTISER and not advertiser:
        raise UserError(f"advertiser account {username!r} needs --advertiser (the advertiser it may see)")
    if role == Role.ADMIN:
        advertiser = None
    values = {
        "role": role.value,
        "advertiser": advertiser,
        "password_hash": hash_password(password),
        "created_at": now,
    }
    with engine.begin() as conn:
        updated = conn.execute(WEB_USER.update().where(WEB_USER.c.username == username).values(**values))
        if updated.rowcount == 0:
            conn.execute(WEB_USER.insert().values(username=username, **values))
        ended = delete_sessions_of(conn, username)
    if ended:
        log.info("password of %r reset: %d session(s) ended", username, ended)
    return User(username, role, advertiser)


def remove_user(engine: sa.Engine, username: str) -> int:
    """Delete an account and end its sessions; returns how many sessions ended."""
    with engine.begin() as conn:
        ended = delete_sessions_of(conn, username)
        deleted = conn.execute(WEB_USER.delete().where(WEB_USER.c.username == username))
        if deleted.rowcount == 0:
            raise UserError(f"there is no account {username!r}")
    log.info("account %r removed: %d session(s) ended", username, ended)
    return ended


def _user(row: sa.RowMapping) -> User:
    return User(row["username"], Role(row["role"]), row["advertiser"])


def get_user(engine: sa.Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(WEB_USER).where(WEB_USER.c.username == username)).mappings().first()
    return None if row is None else _user(row)


def authenticate(engine: sa.Engine, username: str, password: str) -> User | None:
    """The account if ``password`` is right; a hash at an older cost is upgraded on the way."""
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # still hashed below, so the answer takes as long as any other wrong password
    with engine.connect() as conn:
        row = conn.execute(sa.select(WEB_USER).where(WEB_USER.c.username == username)).mappings().first()
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    stored = row["password_hash"]
    if not verify_password(password, stored) or not password:
        return None
    if needs_rehash(stored):
        with engine.begin() as conn:
            # Only if nobody reset the password meanwhile (the hash compared is the one just checked).
            conn.execute(
                WEB_USER.update()
                .where(WEB_USER.c.username == username, WEB_USER.c.password_hash == stored)
                .values(password_hash=hash_password(password))
            )
        log.info("password hash of %r upgraded to the current scrypt cost", username)
    return _user(row)


def list_users(engine: sa.Engine) -> tuple[User, ...]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(WEB_USER).order_by(WEB_USER.c.username)).mappings().all()
    return tuple(_user(r) for r in rows)
