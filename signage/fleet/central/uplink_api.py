"""What screens send up (docs/fleet.md, "HTTP API"): rows, heartbeats and screenshots.

Every route takes the screen from its bearer token (``auth.current_screen``) and writes for that
screen only:

- ``POST /rows/{table}``: ``{"rows": [...]}`` of one synced table (``signage.fleet.tables``), decoded
  strictly (``signage.fleet.rowcodec``), every row checked to belong to the screen (its
  ``screen_id``, or for a table keyed by play, the screen of that play centrally), any row of
  another screen refusing the whole body (403, nothing written), then upserted in one transaction;
  ``{"accepted": n}``. A replayed batch is a no-op.
- ``POST /heartbeat``: a ``uplink_protocol.ScreenStatus``; kept in ``fleet_screen_status`` and, when the
  app has a ``status_publisher``, published retained on the screen's status topic; 204.
- ``POST /screenshot``: a PNG of the ad on screen (magic bytes checked, at most 5 MiB), kept as
  ``<blob_dir>/screenshots/<screen>.png``, replaced atomically; 204.

The app provides ``state.engine`` (the central PostgreSQL, with the registry and the store schema
migrated), ``state.blobs`` (its ``BlobStore``; screenshots live under its root) and ``state.clock``;
optionally ``state.status_publisher`` (a ``StatusPublisher``) and ``state.topic_prefix``.
Include it with ``app.include_router(router, prefix=protocol.API_PREFIX)``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Protocol

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Connection, Engine
from starlette.requests import ClientDisconnect

from signage.clock import Clock, SystemClock
from signage.fleet.central.auth import ScreenPrincipal, current_screen
from signage.fleet.central.status_table import store_status
from signage.fleet.protocol import ProtocolError, status_topic
from signage.fleet.rowcodec import RowCodecError, decode_rows
from signage.fleet.tables import synced_tables
from signage.fleet.uplink_protocol import PNG_MAGIC, ROWS_MAX_BYTES, SCREENSHOT_MAX_BYTES, ScreenStatus
from signage.store.sql import upsert

log = logging.getLogger(__name__)

Screen = Annotated[ScreenPrincipal, Depends(current_screen)]
SCREEN_COLUMN = "screen_id"
STORE_COLUMN = "store_id"  # stamped from the registry: a screen cannot file its rows under another store
PLAY_COLUMN = "play_id"  # a table without a screen_id belongs to the screen of its play
HEARTBEAT_MAX_BYTES = 64 * 1024
MAX_ROWS = 100_000
_IN_CHUNK = 5000  # values per IN (...) list: far below PostgreSQL's 65535 parameters


class StatusPublisher(Protocol):
    """Where a screen's heartbeat is republished (retained) for monitoring; best effort, never raises."""

    def publish_status(self, topic: str, payload: bytes) -> None: ...


class RowsRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(status_code=400, detail="Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(status_code=413, detail=f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(status_code=413, detail=f"the body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:  # the link dropped mid-body: nothing was read, nothing is written
        raise HTTPException(status_code=400, detail="the client went away before the body ended") from exc
    return b"".join(chunks)


def _synced(name: str) -> sa.Table:
    tables = {t.name: t for t in synced_tables()}
    if name not in tables:
        raise HTTPException(status_code=404, detail=f"{name!r} is not a synced table")
    return tables[name]


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def _pk_clause(table: sa.Table, rows: list[dict[str, object]]) -> list[sa.ColumnElement[bool]]:
    keys = list(table.primary_key.columns)
    if len(keys) == 1:
        return [keys[0].in_(part) for part in _chunks([r[keys[0].name] for r in rows])]
    tuples = [tuple(r[k.name] for k in keys) for r in rows]
    return [sa.tuple_(*keys).in_(part) for part in _chunks(tuples)]


def _play_owners(conn: Connection, play_ids: set[Any]) -> dict[Any, str]:
    """play_id -> the screen it belongs to centrally (its play row, else its impression row)."""
    tables = {t.name: t for t in synced_tables()}
    owners: dict[Any, str] = {}
    for name in ("impression", "play"):  # the play row wins where both exist
        table = tables.get(name)
        if table is None:
            continue
        for part in _chunks(sorted(play_ids, key=str)):
            query = sa.select(table.c[PLAY_COLUMN], table.c[SCREEN_COLUMN]).where(
                table.c[PLAY_COLUMN].in_(part)
            )
            owners.update({row[0]: row[1] for row in conn.execute(query)})
    return owners


def _refuse_foreign_screen_ids(table: sa.Table, rows: list[dict[str, object]], screen_id: str) -> None:
    for index, row in enumerate(rows):
        if row[SCREEN_COLUMN] != screen_id:
            raise RowsRefused(
                403, f"{table.name} row {index} is of screen {row[SCREEN_COLUMN]!r}, not {screen_id!r}"
            )


def _refuse_foreign_overwrites(
    conn: Connection, table: sa.Table, rows: list[dict[str, object]], screen_id: str
) -> None:
    if SCREEN_COLUMN in table.primary_key.columns:
        return  # a row of this screen can only overwrite a row of this screen
    for clause in _pk_clause(table, rows):
        query = sa.select(table.c[SCREEN_COLUMN]).where(clause, table.c[SCREEN_COLUMN] != screen_id)
        if conn.execute(query.limit(1).with_for_update()).first() is not None:
            raise RowsRefused(403, f"a {table.name} row sent belongs to another screen centrally")


def check_ownership(conn: Connection, table: sa.Table, rows: list[dict[str, object]], screen_id: str) -> None:
    """Raise RowsRefused unless every row, and every central row it would overwrite, is the screen's.

    A row with a ``screen_id`` must name this screen, and so must the central row of the same key.
    A row that describes a play (``play_id``) must describe one of this screen's plays: for a table
    without ``screen_id`` the play must be known centrally (409 until its play or impression arrives).
    """
    has_screen = SCREEN_COLUMN in table.c
    if has_screen:
        _refuse_foreign_screen_ids(table, rows, screen_id)
        _refuse_foreign_overwrites(conn, table, rows, screen_id)
    if PLAY_COLUMN not in table.c or table.name == "play":
        if not has_screen:
            raise RowsRefused(403, f"{table.name} rows name no screen or play, so no screen may send them")
        return
    plays = {row[PLAY_COLUMN] for row in rows}
    if PLAY_COLUMN not in table.primary_key.columns:  # a row could move to another play: check both
        for clause in _pk_clause(table, rows):
            plays |= set(
                conn.execute(sa.select(table.c[PLAY_COLUMN]).where(clause).with_for_update()).scalars()
            )
    owners = _play_owners(conn, plays)
    if any(owners[p] != screen_id for p in plays if p in owners):
        raise RowsRefused(403, f"a {table.name} row sent describes a play of another screen")
    if not has_screen:
        for index, row in enumerate(rows):
            if row[PLAY_COLUMN] not in owners:
                raise RowsRefused(
                    409,
                    f"{table.name} row {index}: play {row[PLAY_COLUMN]} is not known centrally yet; "
                    "its play is sent first",
                )


def store_rows(
    engine: Engine, table: sa.Table, rows: list[dict[str, object]], screen: ScreenPrincipal
) -> int:
    """Check and upsert in one transaction; a row's ``store_id`` is the registry's, whatever was sent."""
    if STORE_COLUMN in table.c:
        rows = [{**row, STORE_COLUMN: screen.store_id} for row in rows]
    with engine.begin() as conn:
        check_ownership(conn, table, rows, screen.screen_id)
        upsert(conn, table, rows)
    return len(rows)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(status_code=400, detail=f"the body is not JSON ({exc})") from exc


router = APIRouter()


@router.post("/rows/{table_name}")
async def post_rows(table_name: str, request: Request, screen: Screen) -> dict[str, int]:
    table = _synced(table_name)
    doc = _json(await read_body(request, ROWS_MAX_BYTES))
    if not isinstance(doc, dict) or set(doc) != {"rows"}:
        raise HTTPException(status_code=422, detail='the body is {"rows": [...]} and nothing else')
    if isinstance(doc["rows"], list) and len(doc["rows"]) > MAX_ROWS:
        raise HTTPException(status_code=413, detail=f"at most {MAX_ROWS} rows per post")
    try:
        rows = decode_rows(table, doc["rows"])
    except RowCodecError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    engine: Engine = request.app.state.engine
    try:
        accepted = await run_in_threadpool(store_rows, engine, table, rows, screen)
    except RowsRefused as exc:
        if exc.status == 403:
            log.warning(
                "screen %s sent %s rows it does not own: %s", screen.screen_id, table.name, exc.detail
            )
        raise HTTPException(status_code=exc.status, detail=exc.detail) from exc
    except sa.exc.IntegrityError as exc:
        raise HTTPException(status_code=409, detail=f"the {table.name} rows conflict centrally") from exc
    return {"accepted": accepted}


def _publish(request: Request, status: ScreenStatus) -> None:
    publisher: StatusPublisher | None = getattr(request.app.state, "status_publisher", None)
    if publisher is None or status.screen_id is None:
        return
    prefix: str = getattr(request.app.state, "topic_prefix", "signage")
    payload = json.dumps(status.to_json(), sort_keys=True).encode()
    try:
        publisher.publish_status(status_topic(prefix, status.screen_id), payload)
    except Exception as exc:  # monitoring is best effort: the heartbeat is stored already
        log.warning("could not publish the status of screen %s: %s", status.screen_id, exc)


@router.post("/heartbeat", status_code=204)
async def post_heartbeat(request: Request, screen: Screen) -> Response:
    doc = _json(await read_body(request, HEARTBEAT_MAX_BYTES))
    try:
        status = ScreenStatus.from_json(doc)
    except ProtocolError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    if status.screen_id not in (None, screen.screen_id):
        raise HTTPException(
            status_code=403, detail=f"a heartbeat of screen {status.screen_id!r} sent by {screen.screen_id!r}"
        )
    stamped = replace(status, screen_id=screen.screen_id)
    engine: Engine = request.app.state.engine
    clock: Clock = getattr(request.app.state, "clock", None) or SystemClock()

    def store() -> None:
        with engine.begin() as conn:
            store_status(conn, stamped, screen.screen_id, clock.now_utc())

    await run_in_threadpool(store)
    _publish(request, stamped)
    return Response(status_code=204)


def screenshot_path(blob_root: Path, screen_id: str) -> Path:
    return blob_root / "screenshots" / f"{screen_id}.png"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it into place: a reader sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@router.post("/screenshot", status_code=204)
async def post_screenshot(request: Request, screen: Screen) -> Response:
    data = await read_body(request, SCREENSHOT_MAX_BYTES)
    # A PNG starts with its signature and then its IHDR chunk; anything else (a JPEG camera frame,
    # raw pixels) is refused unread.
    if not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise HTTPException(status_code=415, detail="a screenshot is a PNG of the ad on screen")
    root: Path = request.app.state.blobs.root
    await run_in_threadpool(write_atomically, screenshot_path(root, screen.screen_id), data)
    return Response(status_code=204)
