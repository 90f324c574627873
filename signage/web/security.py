"""Login throttling and CSRF tokens; time is passed in.

The limiter counts an attempt *before* its password is hashed (:meth:`LoginLimiter.reserve`, under a
lock), so parallel guesses cannot all slip past a check that runs before any of them has failed. It
keeps two separate counters per attempt: the user name (``attempts`` in ``window_s``) and the client
address (``address_attempts``; an IPv6 client counts by its /64, which one host usually owns whole).
A successful login refunds its own attempt and clears the *user name's* failures (the owner proved
who they are) but never the address's: four failures against other accounts plus one own login,
repeated, still reach the address limit. Keys whose failures have all expired are dropped, and at
most ``max_keys`` are kept (the least recently used go first), so memory stays bounded.

:class:`HashGate` bounds how many password hashes run at once (each scrypt check takes 128 MiB and
~0.5 s); a login that finds every slot busy is answered at once instead of queueing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

log = logging.getLogger(__name__)


def address_key(host: str) -> str:
    """The limiter's key for a client address: the address itself, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"addr:{host[:64]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"addr:{ip}"


def user_key(username: str) -> str:
    return f"user:{username.strip()[:64].casefold()}"


@dataclass(frozen=True)
class Attempt:
    """A counted login attempt, to be settled once its password has been checked."""

    keys: tuple[str, ...]
    at: float


@dataclass(frozen=True)
class Refused:
    retry_after_s: float


class LoginLimiter:
    def __init__(
        self,
        attempts: int = 5,
        window_s: float = 300.0,
        *,
        address_attempts: int | None = None,
        max_keys: int = 50_000,
    ) -> None:
        self.attempts = attempts
        self.address_attempts = address_attempts if address_attempts is not None else 4 * attempts
        self.window_s = window_s
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, deque[float]] = OrderedDict()
        self._locked: set[str] = set()
        self._swept_at = float("-inf")

    def _limit(self, key: str) -> int:
        return self.address_attempts if key.startswith("addr:") else self.attempts

    def _recent(self, key: str, now: float) -> deque[float]:
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = deque()
        else:
            self._counts.move_to_end(key)
        while counts and counts[0] <= now - self.window_s:
            counts.popleft()
        return counts

    def reserve(self, username: str, address: str, now: float) -> Attempt | Refused:
        """Count an attempt for ``username`` from ``address``, or refuse it while either is locked."""
        keys = (user_key(username), address_key(address))
        with self._lock:
            self._sweep(now)
            counts = [self._recent(k, now) for k in keys]
            full = [(k, c) for k, c in zip(keys, counts, strict=True) if len(c) >= self._limit(k)]
            if not full:
                for c in counts:
                    c.append(now)
            self._evict()
        if full:
            return Refused(max(c[0] + self.window_s - now for _, c in full))
        return Attempt(keys, now)

    def settle(self, attempt: Attempt, succeeded: bool, now: float) -> None:
        """Record the outcome of a reserved attempt (a failure stays counted)."""
        with self._lock:
            if not succeeded:
                for key in attempt.keys:
                    self._note_lock(key, now)
                return
            self._refund(attempt)
            user = attempt.keys[0]
            self._counts.pop(user, None)
            self._locked.discard(user)

    def cancel(self, attempt: Attempt) -> None:
        """Forget an attempt whose password was never checked (the server was busy)."""
        with self._lock:
            self._refund(attempt)

    def _refund(self, attempt: Attempt) -> None:
        for key in attempt.keys:
            counts = self._counts.get(key)
            if counts is not None and attempt.at in counts:
                counts.remove(attempt.at)

    def _note_lock(self, key: str, now: float) -> None:
        """Log the moment a key becomes locked, once per lockout."""
        counts = self._recent(key, now)
        if len(counts) < self._limit(key):
            self._locked.discard(key)
        elif key not in self._locked:
            self._locked.add(key)
            kind, _, name = key.partition(":")
            log.warning(
                "logins for %s %r locked for %.0f s (%d attempts within %.0f s)",
                "user" if kind == "user" else "client",
                name,
                counts[0] + self.window_s - now,
                len(counts),
                self.window_s,
            )

    def _sweep(self, now: float) -> None:
        """Drop keys with no failure left in the window (once a window, so the cost is amortised)."""
        if now - self._swept_at < self.window_s:
            return
        self._swept_at = now
        for key in [k for k, c in self._counts.items() if not c or c[-1] <= now - self.window_s]:
            del self._counts[key]
            self._locked.discard(key)

    def _evict(self) -> None:
        while len(self._counts) > self.max_keys:
            key, _ = self._counts.popitem(last=False)
            self._locked.discard(key)

    def tracked_keys(self) -> int:
        with self._lock:
            return len(self._counts)


class HashGate:
    """At most ``slots`` password checks at once; :meth:`enter` never waits."""

    def __init__(self, slots: int = 2) -> None:
        self._slots = threading.BoundedSemaphore(slots)

    def enter(self) -> bool:
        return self._slots.acquire(blocking=False)

    def leave(self) -> None:
        self._slots.release()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def derived_token(secret: str, purpose: str, value: str) -> str:
    """An HMAC of ``value`` for ``purpose``: a CSRF token only the server can compute from the cookie."""
    return hmac.new(secret.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
