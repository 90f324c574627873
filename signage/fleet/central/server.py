"""The central HTTP API screens talk to (docs/fleet.md, "HTTP API"), under ``/fleet/v1``.

Every route is scoped to the screen of the bearer token (``auth.current_screen``): a screen reads
its own state and only the blobs of its own groups' releases and alerts; any other blob is a 404,
the same answer as a blob that does not exist, so a token cannot probe for content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.engine import Engine

from signage.clock import Clock, SystemClock
from signage.fleet.central.auth import ScreenPrincipal, current_screen
from signage.fleet.central.blobstore import CHUNK, BlobStore
from signage.fleet.central.state import blob_allowed, etag_matches, screen_state, state_etag
from signage.fleet.central.uplink_api import StatusPublisher
from signage.fleet.central.uplink_api import router as uplink_router
from signage.fleet.protocol import API_PREFIX, SHA256_RE

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
Screen = Annotated[ScreenPrincipal, Depends(current_screen)]


class RangeNotSatisfiable(Exception):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of ``bytes=N-``, ``bytes=N-M`` or ``bytes=-K``; None: send the whole file.

    A header that is not one byte range (another unit, several ranges, a malformed one) is ignored,
    as RFC 9110 allows; a range that starts past the end raises RangeNotSatisfiable.
    """
    match = _RANGE.match(header or "")
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:  # a suffix: the last K bytes
        suffix = int(match[2])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(match[1])
    if match[2] and int(match[2]) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(int(match[2]), size - 1) if match[2] else size - 1)


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def screen_router() -> APIRouter:
    router = APIRouter()

    @router.get("/state")
    def get_state(
        request: Request,
        screen: Screen,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        engine: Engine = request.app.state.engine
        clock: Clock = request.app.state.clock
        with engine.connect() as conn:
            doc = screen_state(conn, screen, clock.now_utc()).to_json()
        etag = state_etag(doc)
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        return JSONResponse(doc, headers=headers)

    @router.get("/blobs/{sha256}")
    def get_blob(
        request: Request,
        sha256: str,
        screen: Screen,
        range_header: Annotated[str | None, Header(alias="range")] = None,
    ) -> Response:
        blobs: BlobStore = request.app.state.blobs
        engine: Engine = request.app.state.engine
        missing = Response(status_code=404, content="no such blob")
        if not SHA256_RE.match(sha256):
            return missing
        with engine.connect() as conn:
            if not blob_allowed(conn, screen.groups, sha256):
                return missing
        path = blobs.path_for(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            log.warning("blob %s of a release is missing from the blob store %s", sha256, blobs.root)
            return missing
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": f'"{sha256}"',
            "Cache-Control": "private, max-age=31536000, immutable",
        }
        try:
            wanted = parse_range(range_header, size)
        except RangeNotSatisfiable:
            return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        if wanted is None:
            headers["Content-Length"] = str(size)
            return StreamingResponse(
                _read(path, 0, size), media_type="application/octet-stream", headers=headers
            )
        headers["Content-Length"] = str(wanted.length)
        headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
        return StreamingResponse(
            _read(path, wanted.start, wanted.length),
            status_code=206,
            media_type="application/octet-stream",
            headers=headers,
        )

    return router


def create_app(
    engine: Engine,
    blob_dir: Path,
    *,
    clock: Clock | None = None,
    status_publisher: StatusPublisher | None = None,
    topic_prefix: str = "signage",
) -> FastAPI:
    """The API on ``engine`` (the registry and the store schema migrated) and the blob store at ``blob_dir``.

    Routes read ``request.app.state.engine``, ``.blobs`` (a BlobStore), ``.clock``, and for the
    uplink's heartbeats ``.status_publisher`` (None: not republished) and ``.topic_prefix``.
    """
    app = FastAPI(title="signage fleet", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.blobs = BlobStore(blob_dir)
    app.state.clock = clock or SystemClock()
    app.state.status_publisher = status_publisher
    app.state.topic_prefix = topic_prefix
    app.include_router(screen_router(), prefix=API_PREFIX)
    app.include_router(uplink_router, prefix=API_PREFIX)
    return app
