"""Screen authentication: ``Authorization: Bearer <token>`` names one active screen.

The token is looked up by its sha256 (the only form the registry keeps), so there is no secret to
compare in constant time, and the token itself is never logged. A removed screen's token no longer
matches anything. Routes take ``Depends(current_screen)`` and scope everything to its groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy.engine import Engine

from signage.fleet.central.registry import groups_of, screen_for_token

REALM = 'Bearer realm="signage-fleet"'


@dataclass(frozen=True)
class ScreenPrincipal:
    screen_id: str
    store_id: str
    groups: tuple[str, ...]


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = REALM if error is None else f'{REALM}, error="{error}"'
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": challenge})


def current_screen(request: Request) -> ScreenPrincipal:
    """The screen whose bearer token came with the request; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a screen token is needed: Authorization: Bearer <token>")
    engine: Engine = request.app.state.engine
    with engine.connect() as conn:
        screen = screen_for_token(conn, token)
        if screen is None:
            raise _unauthorized(
                "this screen token is not valid (unknown, rotated or removed)", "invalid_token"
            )
        groups = groups_of(conn, screen)
    return ScreenPrincipal(screen.screen_id, screen.store_id, groups)
