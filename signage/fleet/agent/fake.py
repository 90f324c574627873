"""A fleet server in memory, for tests: the state, the blobs, and the faults a network has."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signage.fleet.agent.client import BadAnswer, Cancelled, ServerAway, StateReply, TokenRefused, never
from signage.fleet.protocol import ScreenState


def state_etag(state: ScreenState | None) -> str:
    body = json.dumps(None if state is None else state.to_json(), sort_keys=True).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass
class FakeFleetClient:
    """``FleetClient`` over a dict of blobs. Set ``away`` for a server that does not answer,
    ``refuse_token`` for a revoked token, ``cut_at[sha] = n`` to cut the next download of a blob
    after n bytes, ``corrupt[sha] = k`` to serve it with a flipped byte k more times."""

    state: ScreenState | None = None
    blobs: dict[str, bytes] = field(default_factory=dict)
    away: bool = False
    refuse_token: bool = False
    cut_at: dict[str, int] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    polls: int = 0
    not_modified: int = 0
    downloads: list[tuple[str, int]] = field(default_factory=list)  # (sha, offset asked for)
    closed: bool = False
    chunk_bytes: int = 4096  # a download arrives in chunks this big
    on_chunk: Callable[[], None] | None = None  # called after each chunk written (to wake the agent)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blobs[sha] = data
        return sha

    def get_state(self, etag: str | None) -> StateReply:
        with self._lock:
            self.polls += 1
            self._fault("the screen state")
            if self.state is None:
                raise BadAnswer("the fleet server answered HTTP 404 for the screen state")
            current = state_etag(self.state)
            if etag == current:
                self.not_modified += 1
                return StateReply(None, etag)
            return StateReply(self.state, current)

    def download_blob(self, sha256: str, part: Path, cancelled: Callable[[], bool] = never) -> None:
        with self._lock:
            offset = part.stat().st_size if part.exists() else 0
            self.downloads.append((sha256, offset))
            self._fault(f"blob {sha256[:12]}")
            if sha256 not in self.blobs:
                raise BadAnswer(f"the fleet server answered HTTP 404 for blob {sha256[:12]}")
            data = self.blobs[sha256]
            if self.corrupt.get(sha256, 0) > 0:
                self.corrupt[sha256] -= 1
                data = bytes([data[0] ^ 0xFF]) + data[1:] if data else b"x"
            cut = self.cut_at.pop(sha256, None)
            end = len(data) if cut is None else max(offset, cut)
            with part.open("ab") as out:
                for start in range(offset, end, self.chunk_bytes):
                    out.write(data[start : min(end, start + self.chunk_bytes)])
                    if self.on_chunk is not None:
                        self.on_chunk()
                    if cancelled():
                        raise Cancelled(f"downloading blob {sha256[:12]} paused at byte {out.tell()}")
            if cut is not None:
                raise ServerAway(f"downloading blob {sha256[:12]} stopped (connection reset)")

    def close(self) -> None:
        self.closed = True

    def _fault(self, what: str) -> None:
        if self.away:
            raise ServerAway(f"the fleet server did not answer for {what} (ConnectError)")
        if self.refuse_token:
            raise TokenRefused(f"the fleet server refused this screen's token for {what} (HTTP 401)")
