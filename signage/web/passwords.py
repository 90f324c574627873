"""Password hashing (scrypt, parameters kept in the hash) and the password policy for dashboard accounts.

Hashes look like ``scrypt$N$r$p$salt$digest``: the cost travels with each hash, so raising the cost
never locks anyone out; an older hash is replaced by one at today's cost on its next successful login
(:func:`needs_rehash`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from signage.web.common_passwords import COMMON_PASSWORDS


@dataclass(frozen=True)
class ScryptCost:
    n: int
    r: int
    p: int

    @property
    def memory_bytes(self) -> int:
        return 128 * self.r * (self.n + self.p + 2)


# OWASP's password storage guidance: N=2^17, r=8, p=1 (128 MiB and ~0.5 s per check on this hardware),
# so a stolen table is slow to attack. Concurrent checks are bounded by the login gate (security.py).
COST = ScryptCost(n=2**17, r=8, p=1)
# A stored hash asking for more than this (a tampered row) is refused instead of exhausting memory.
_MAX_MEMORY_BYTES = 1 << 30
_SALT_BYTES = 16
_DIGEST_BYTES = 32

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing is the same work for any length, but a form is no place for a file


def hash_password(password: str, salt: bytes | None = None, cost: ScryptCost = COST) -> str:
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        dklen=_DIGEST_BYTES,
        maxmem=cost.memory_bytes + (1 << 20),
    )


def _parse(stored: str) -> tuple[ScryptCost, bytes, str] | None:
    try:
        kind, n, r, p, salt_hex, digest_hex = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return None
    if kind != "scrypt" or min(cost.n, cost.r, cost.p) < 1 or cost.memory_bytes > _MAX_MEMORY_BYTES:
        return None
    return cost, salt, digest_hex


def verify_password(password: str, stored: str) -> bool:
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, digest_hex = parsed
    try:
        digest = _scrypt(password, salt, cost)
    except ValueError:  # N not a power of two, or more memory than OpenSSL allows
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def needs_rehash(stored: str, cost: ScryptCost = COST) -> bool:
    """Whether ``stored`` was made at another cost than ``cost`` (checked after a successful login)."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != cost


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` is refused for ``username`` (one sentence), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "the password must not be only spaces"
    if password.casefold() == username.casefold():
        return "the password must not be the user name"
    if "".join(password.split()).casefold() in COMMON_PASSWORDS:
        return "the password is one of the most common passwords; choose a less guessable one"
    return None
