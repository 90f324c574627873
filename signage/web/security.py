"""Login rate limiting and CSRF tokens: pure helpers, time passed in."""

from __future__ import annotations

import hmac
import secrets
from collections import deque


class LoginLimiter:
    """At most ``attempts`` failed logins per key (client address, user name) in ``window_s`` seconds."""

    def __init__(self, attempts: int = 5, window_s: float = 300.0) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def blocked(self, keys: tuple[str, ...], now: float) -> bool:
        return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def retry_after_s(self, keys: tuple[str, ...], now: float) -> float:
        oldest = [self._recent(k, now)[0] for k in keys if len(self._recent(k, now)) >= self.attempts]
        return max((t + self.window_s - now for t in oldest), default=0.0)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_valid(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
