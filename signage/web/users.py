"""Dashboard accounts: salted scrypt password hashes and two roles (admin, advertiser)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from signage.store.types import UTCDateTime

# scrypt cost: 16 MiB of memory and ~50 ms per check here, so a stolen table is slow to attack.
_N, _R, _P = 2**14, 8, 1
_SALT_BYTES = 16
MIN_PASSWORD_LENGTH = 8


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


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt_hex, digest_hex = stored.split("$")
        if kind != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# Checked against when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = hash_password("not a password", salt=b"\0" * _SALT_BYTES)


class UserError(ValueError):
    """An account that cannot be created; the message is one sentence."""


def add_user(
    engine: sa.Engine, username: str, password: str, role: Role, advertiser: str | None, now: datetime
) -> User:
    """Create or replace an account (replacing resets the password)."""
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"user name {username!r} must be 1-64 letters, digits, '-' or '_'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password for {username!r} must have at least {MIN_PASSWORD_LENGTH} characters")
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
    return User(username, role, advertiser)


def get_user(engine: sa.Engine, username: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(WEB_USER).where(WEB_USER.c.username == username)).mappings().first()
    if row is None:
        return None
    return User(row["username"], Role(row["role"]), row["advertiser"])


def authenticate(engine: sa.Engine, username: str, password: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(WEB_USER).where(WEB_USER.c.username == username)).mappings().first()
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, row["password_hash"]):
        return None
    return User(row["username"], Role(row["role"]), row["advertiser"])


def list_users(engine: sa.Engine) -> tuple[User, ...]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(WEB_USER).order_by(WEB_USER.c.username)).mappings().all()
    return tuple(User(r["username"], Role(r["role"]), r["advertiser"]) for r in rows)
