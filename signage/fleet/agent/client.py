"""The screen's edge to the central server: poll the state, download blobs (docs/fleet.md, HTTP API).

``FleetClient`` is the small protocol the agent uses; ``HttpFleetClient`` speaks it over httpx with
the screen's bearer token, TLS verification on and bounded timeouts. A blob download appends to its
``.part`` file and asks for the rest with ``Range: bytes=N-``, so a cut connection resumes where it
stopped. Every failure is one of three errors: the server is away (retry later), it refused the
token, or it answered something the protocol does not allow.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from signage.fleet.protocol import API_PREFIX, ProtocolError, ScreenState, check_sha256


class FleetError(Exception):
    """Something went wrong talking to the server; the message is one sentence."""


class ServerAway(FleetError):
    """The server did not answer (network, timeout, 5xx): keep what plays, try again later."""


class TokenRefused(FleetError):
    """The server refused this screen's token (401/403): rotate it with ``signage fleet join``."""


class BadAnswer(FleetError):
    """The server answered, but not as the protocol says (a bad state document, a missing blob)."""


class Cancelled(Exception):
    """A download stopped because ``cancelled()`` said so; the part keeps what arrived (not a failure)."""


def never() -> bool:
    return False


@dataclass(frozen=True)
class StateReply:
    """One poll: the state, or ``None`` when it is unchanged since ``etag`` (HTTP 304)."""

    state: ScreenState | None
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.state is None


class FleetClient(Protocol):
    def get_state(self, etag: str | None) -> StateReply: ...

    def download_blob(self, sha256: str, part: Path, cancelled: Callable[[], bool] = never) -> None:
        """Append the blob's missing bytes to ``part`` (created if absent), resuming from its size;
        raises Cancelled, the bytes so far kept, as soon as ``cancelled()`` is true."""
        ...

    def close(self) -> None: ...


def read_token(path: Path) -> str:
    """The bearer token in ``path`` (written by ``signage fleet join``); FleetError when unusable."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise FleetError(
            f"no fleet token at {path}; run 'signage fleet join --server URL --token-stdin'"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetError(f"the fleet token {path} cannot be read: {exc}") from None
    check_token(token, str(path))
    return token


def check_token(token: str, where: str) -> None:
    if not token or len(token) > 512 or any(ord(c) <= 32 or ord(c) >= 127 for c in token):
        raise FleetError(f"the fleet token from {where} is empty or not one line of printable ASCII")


def blob_url_path(sha256: str) -> str:
    return f"{API_PREFIX}/blobs/{check_sha256(sha256)}"


class HttpFleetClient:
    """``FleetClient`` over HTTP(S) with httpx: one connection pool, TLS verified, no redirects."""

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        _quiet_httpx()
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s, pool=connect_timeout_s)
        self._http = httpx.Client(
            base_url=self.server_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "signage-screen"},
            timeout=timeout,
            verify=True,
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpFleetClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _refused(self, response: httpx.Response, what: str) -> FleetError:
        code = response.status_code
        if code in (401, 403):
            return TokenRefused(f"the fleet server refused this screen's token for {what} (HTTP {code})")
        if code >= 500 or code in (408, 429):
            return ServerAway(f"the fleet server answered HTTP {code} for {what}")
        return BadAnswer(f"the fleet server answered HTTP {code} for {what}")

    def get_state(self, etag: str | None) -> StateReply:
        headers = {"If-None-Match": etag} if etag else {}
        try:
            response = self._http.get(f"{API_PREFIX}/state", headers=headers)
        except httpx.HTTPError as exc:
            raise ServerAway(f"the fleet server {self.server_url} did not answer ({_why(exc)})") from None
        if response.status_code == 304:
            return StateReply(None, etag)
        if response.status_code != 200:
            raise self._refused(response, "the screen state")
        try:
            state = ScreenState.from_json(json.loads(response.content))
        except (ValueError, ProtocolError) as exc:  # JSONDecodeError is a ValueError
            raise BadAnswer(f"the fleet server sent a screen state that does not parse: {exc}") from None
        return StateReply(state, response.headers.get("ETag"))

    def download_blob(self, sha256: str, part: Path, cancelled: Callable[[], bool] = never) -> None:
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        what = f"blob {sha256[:12]}"
        try:
            with self._http.stream("GET", blob_url_path(sha256), headers=headers) as response:
                if response.status_code == 416:  # the part already holds every byte (or more)
                    return
                if response.status_code not in (200, 206):
                    raise self._refused(response, what)
                append = response.status_code == 206 and offset > 0
                if append and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                    raise BadAnswer(f"the fleet server sent {what} from the wrong offset")
                with part.open("ab" if append else "wb") as out:
                    for chunk in response.iter_bytes():  # as it arrives: a cut keeps every byte received
                        out.write(chunk)
                        if cancelled():
                            raise Cancelled(f"downloading {what} paused at byte {out.tell()}")
                    out.flush()
                    os.fsync(out.fileno())
        except httpx.HTTPError as exc:
            raise ServerAway(f"downloading {what} stopped ({_why(exc)})") from None


def _why(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _quiet_httpx() -> None:
    """httpx logs every request at INFO: a poll a minute is a steady state, not news (the agent
    logs the transitions). Left alone when someone set those loggers' level on purpose."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
