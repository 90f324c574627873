"""Who is asking: server-side sessions, CSRF tokens and the throttled login.

Two cookies, both HttpOnly and SameSite=Strict (``__Host-`` prefixed and Secure behind TLS):

* the session cookie holds only a random id (sessions.py); the CSRF token of a logged-in page is an
  HMAC of that id under the dashboard secret, so it dies with the session and needs no storage;
* the login form's cookie holds a random value whose HMAC is the form's CSRF token (a signed double
  submit: a forged login from another site has neither the cookie nor the key).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from fastapi import HTTPException, Request
from fastapi.responses import Response

from signage.web.security import Attempt, HashGate, LoginLimiter, Refused, csrf_valid, derived_token
from signage.web.sessions import SessionPolicy, SessionStore
from signage.web.users import User, authenticate, get_user

log = logging.getLogger(__name__)


class LoginRequired(Exception):
    pass


@dataclass(frozen=True)
class LoginOutcome:
    """The answer to a login: a user and a new session id, or a status and a message for the form."""

    user: User | None = None
    session_id: str = ""
    status: int = 200
    error: str = ""
    retry_after_s: int | None = None


@dataclass(frozen=True)
class AuthConfig:
    secret_key: str
    https_only: bool
    session_max_age_s: float
    session_idle_s: float
    login_attempts: int
    login_window_s: float
    address_login_attempts: int | None
    concurrent_password_checks: int


class Auth:
    def __init__(
        self,
        engine: sa.Engine,
        config: AuthConfig,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._config = config
        self._clock = clock
        self._now = now
        self.sessions = SessionStore(engine, SessionPolicy(config.session_max_age_s, config.session_idle_s))
        self.limiter = LoginLimiter(
            config.login_attempts,
            config.login_window_s,
            address_attempts=config.address_login_attempts,
        )
        self.gate = HashGate(config.concurrent_password_checks)
        prefix = "__Host-" if config.https_only else ""
        self.session_cookie = f"{prefix}signage_session"
        self.login_cookie = f"{prefix}signage_login"

    # -- the current session ---------------------------------------------------------------------
    def user(self, request: Request) -> User | None:
        """The account of the request's live session (read on every request: removal is immediate)."""
        if not hasattr(request.state, "user"):
            session_id = request.cookies.get(self.session_cookie, "")
            username = self.sessions.username(session_id, self._now()) if session_id else None
            request.state.user = get_user(self._engine, username) if username else None
        user: User | None = request.state.user
        return user

    def require_user(self, request: Request) -> User:
        user = self.user(request)
        if user is None:
            raise LoginRequired()
        return user

    def csrf_token(self, request: Request) -> str:
        """The token for the forms of a logged-in page (empty without a session)."""
        session_id = request.cookies.get(self.session_cookie, "")
        return derived_token(self._config.secret_key, "session", session_id) if session_id else ""

    def check_csrf(self, request: Request, token: str | None) -> None:
        if self.user(request) is None or not csrf_valid(self.csrf_token(request), token):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")

    def log_out(self, request: Request, response: Response) -> None:
        session_id = request.cookies.get(self.session_cookie, "")
        if session_id:
            self.sessions.delete(session_id)
        self._delete_cookie(response, self.session_cookie)

    # -- the login form --------------------------------------------------------------------------
    def login_form_token(self, request: Request) -> tuple[str, str | None]:
        """The login form's CSRF token, and the cookie value to set when the browser has none yet."""
        value = request.cookies.get(self.login_cookie, "")
        fresh = None
        if len(value) != 43:
            value = fresh = secrets.token_urlsafe(32)
        return derived_token(self._config.secret_key, "login", value), fresh

    def set_login_cookie(self, response: Response, value: str) -> None:
        self._set_cookie(response, self.login_cookie, value, max_age=None)

    def check_login_csrf(self, request: Request, token: str | None) -> None:
        value = request.cookies.get(self.login_cookie, "")
        expected = derived_token(self._config.secret_key, "login", value) if value else None
        if not csrf_valid(expected, token):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")

    def log_in(self, request: Request, username: str, password: str) -> LoginOutcome:
        address = request.client.host if request.client else "unknown"
        reserved = self.limiter.reserve(username, address, self._clock())
        if isinstance(reserved, Refused):
            wait = int(reserved.retry_after_s) + 1
            return LoginOutcome(
                status=429, error=f"Too many failed logins; try again in {wait} seconds.", retry_after_s=wait
            )
        if not self.gate.enter():
            self.limiter.cancel(reserved)
            log.warning(
                "login of %r from %s refused: every password check slot is busy", username[:64], address
            )
            return LoginOutcome(
                status=503, error="The server is busy checking other logins; try again.", retry_after_s=1
            )
        try:
            user = authenticate(self._engine, username, password)
        finally:
            self.gate.leave()
        return self._settle(reserved, user, username, address, request)

    def _settle(
        self, reserved: Attempt, user: User | None, username: str, address: str, request: Request
    ) -> LoginOutcome:
        self.limiter.settle(reserved, user is not None, self._clock())
        if user is None:
            log.warning("failed login for user %r from %s", username[:64], address)
            return LoginOutcome(status=401, error="Wrong user name or password.")
        old = request.cookies.get(self.session_cookie, "")
        if old:
            self.sessions.delete(old)  # a fresh id at each login: no fixation across it
        log.info("login of %r from %s", user.username, address)
        return LoginOutcome(user=user, session_id=self.sessions.create(user.username, self._now()))

    def start_session(self, response: Response, session_id: str) -> None:
        self._set_cookie(
            response, self.session_cookie, session_id, max_age=int(self._config.session_max_age_s)
        )
        self._delete_cookie(response, self.login_cookie)

    # -- cookies ---------------------------------------------------------------------------------
    def _set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self._config.https_only,
            httponly=True,
            samesite="strict",
        )

    def _delete_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path="/", secure=self._config.https_only, httponly=True, samesite="strict"
        )
