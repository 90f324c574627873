"""The screen's HTTP link to the central server for what it sends up: rows, heartbeats, screenshots.

Every request carries the screen's bearer token (``fleet.token_file``), has a timeout and verifies the
server's TLS certificate. ``HttpTarget`` is the fleet sync's ``RowTarget`` over this link: a batch is
posted as ``{"rows": [...]}`` to ``/fleet/v1/rows/<table>`` (split into bodies the server accepts)
and counts as committed only when every post was answered 2xx with the number of rows sent. A cut
connection or any other answer raises ``TargetError``, so the watermark stays and the batch is
shipped again; the server's upsert makes what had already arrived a no-op.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from signage import __version__
from signage.fleet.protocol import API_PREFIX
from signage.fleet.rowcodec import RowCodecError, encode_row
from signage.fleet.sync import TargetError
from signage.fleet.uplink_protocol import (
    PNG_MAGIC,
    ROWS_MAX_BYTES,
    SCREENSHOT_MAX_BYTES,
    ScreenStatus,
    rows_path,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 20.0
# Half the server's limit: a batch is split into bodies of at most this many bytes.
BODY_BYTES = ROWS_MAX_BYTES // 2


def token_path(token_file: Path, data_dir: Path) -> Path:
    """``fleet.token_file``, relative to the data folder unless absolute."""
    return token_file if token_file.is_absolute() else data_dir / token_file


def read_token(path: Path) -> str:
    """The screen's bearer token; ValueError in one sentence when it cannot be used."""
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise ValueError(f"no screen token at {path} (fleet.token_file); join the fleet first") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the screen token {path}: {exc}") from exc
    if not token or any(c.isspace() or ord(c) < 33 for c in token) or len(token) > 512:
        raise ValueError(f"the screen token in {path} is empty or not one printable word")
    return token


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else response.text[:200].strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


class UplinkClient:
    """POSTs to ``<server_url>/fleet/v1/...`` as one screen; every failure is a ``TargetError``."""

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        verify: bool | str = True,  # a CA bundle path for a private certificate authority
        transport: httpx.BaseTransport | None = None,  # tests: httpx.ASGITransport / MockTransport
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.server_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"signage/{__version__}"},
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            verify=verify,
            transport=transport,
            follow_redirects=False,  # a redirect would carry the token somewhere else
        )

    def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.post(path, **kwargs)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.server_url}{path}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise TargetError(f"{self.server_url}{path} answered {_detail(response)}")
        return response

    def post_rows(self, table: str, body: bytes, count: int) -> None:
        """Post one encoded ``{"rows": [...]}`` body of ``count`` rows; returns once they are committed."""
        path = rows_path(table)
        response = self._post(path, content=body, headers={"Content-Type": "application/json"})
        try:
            accepted = response.json().get("accepted")
        except (ValueError, AttributeError):
            accepted = None
        if accepted != count:
            raise TargetError(f"{self.server_url}{path} accepted {accepted!r} of {count} rows")

    def post_heartbeat(self, status: ScreenStatus) -> None:
        self._post(f"{API_PREFIX}/heartbeat", json=status.to_json())

    def post_screenshot(self, png: bytes) -> None:
        if not png.startswith(PNG_MAGIC):
            raise TargetError("the screenshot is not a PNG; nothing else is sent")
        if len(png) > SCREENSHOT_MAX_BYTES:
            raise TargetError(f"the screenshot is {len(png)} bytes, above the {SCREENSHOT_MAX_BYTES} allowed")
        self._post(f"{API_PREFIX}/screenshot", content=png, headers={"Content-Type": "image/png"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> UplinkClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def row_bodies(
    table: sa.Table, rows: list[dict[str, object]], limit: int = BODY_BYTES
) -> list[tuple[bytes, int]]:
    """``{"rows": [...]}`` bodies of at most ``limit`` bytes each, with their row counts, in order."""
    bodies: list[tuple[bytes, int]] = []
    head, tail = b'{"rows":[', b"]}"
    chunk: list[bytes] = []
    size = 0  # of the body ``chunk`` makes
    for index, row in enumerate(rows):
        try:
            encoded = json.dumps(encode_row(table, row), separators=(",", ":"), allow_nan=False).encode()
        except RowCodecError as exc:
            raise TargetError(f"cannot ship a {table.name} row: {exc}") from exc
        if len(head) + len(encoded) + len(tail) > limit:
            raise TargetError(
                f"{table.name} row {index} is {len(encoded)} bytes, above the {limit} a post holds"
            )
        if chunk and size + 1 + len(encoded) > limit:
            bodies.append((head + b",".join(chunk) + tail, len(chunk)))
            chunk = []
        size = size + 1 + len(encoded) if chunk else len(head) + len(encoded) + len(tail)
        chunk.append(encoded)
    if chunk:
        bodies.append((head + b",".join(chunk) + tail, len(chunk)))
    return bodies


class HttpTarget:
    """The fleet sync's target when ``fleet.server_url`` is set."""

    def __init__(self, client: UplinkClient, body_bytes: int = BODY_BYTES) -> None:
        self.client = client
        self.name = client.server_url  # the watermark key (no credentials: the token is a header)
        self.body_bytes = body_bytes

    def ship(self, table: sa.Table, rows: list[dict[str, object]]) -> None:
        for body, count in row_bodies(table, rows, self.body_bytes):
            self.client.post_rows(table.name, body, count)
