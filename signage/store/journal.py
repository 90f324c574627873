"""The store's journal on disk: every record the player stores, written before the database has it.

Each record (a play, a heartbeat, an impression with its tracks) is appended as one JSON line to
the run's *segment* the moment it is handed to the writer, with a plain ``write(2)`` on an
``O_APPEND`` descriptor: once it returns, a ``kill -9`` cannot lose the line (the kernel has it;
the writer thread also ``fsync``s it for power cuts). While the database keeps up, the segment is
truncated each time everything in it is committed, so a healthy screen keeps a file of a few
lines. While the database is away or full, the segment grows; segments left by an earlier run are
replayed in order at the next start-up, and their upserts are idempotent, so replaying a record
that did reach the database changes nothing.

Rows travel as column values; the few non-JSON types (UUIDs, datetimes) are tagged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signage.domain import PlayOutcome
from signage.store.models import play_values

log = logging.getLogger(__name__)

Rows = Mapping[str, Sequence[Mapping[str, object]]]  # table name -> column values of each row


@dataclass(frozen=True)
class Record:
    """One thing to store: ``kind`` and ``key`` name it (a newer record with both replaces it)."""

    kind: str  # "play" | "heartbeat" | "impression"
    key: str
    rows: Rows


def _encode(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$time": value.isoformat()}
    return value


def _decode(value: object) -> object:
    if isinstance(value, dict):
        if "$uuid" in value:
            return uuid.UUID(value["$uuid"])
        if "$time" in value:
            return datetime.fromisoformat(value["$time"])
        raise ValueError(f"unknown tagged value {sorted(value)}")
    return value


def record_to_line(record: Record) -> str:
    rows = {
        table: [{c: _encode(v) for c, v in row.items()} for row in rows]
        for table, rows in record.rows.items()
    }
    return json.dumps({"kind": record.kind, "key": record.key, "rows": rows}, separators=(",", ":")) + "\n"


def record_from_line(line: str) -> Record:
    data = json.loads(line)
    if "kind" not in data:  # the play-only overflow journal of earlier versions
        return _legacy_play(data)
    rows = {
        str(table): tuple({str(c): _decode(v) for c, v in row.items()} for row in table_rows)
        for table, table_rows in data["rows"].items()
    }
    return Record(kind=str(data["kind"]), key=str(data["key"]), rows=rows)


def _legacy_play(data: dict[str, Any]) -> Record:
    from signage.domain import Play

    data["started_at"] = datetime.fromisoformat(data["started_at"])
    data["ended_at"] = None if data["ended_at"] is None else datetime.fromisoformat(data["ended_at"])
    data["outcome"] = None if data["outcome"] is None else PlayOutcome(data["outcome"])
    play = Play(**data)
    return Record("play", play.play_id, {"play": (play_values(play),)})


def read_segment(path: Path) -> Iterator[Record]:
    """Every readable record of ``path`` in order; a damaged line (a torn last write) is reported and skipped."""
    try:
        source = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        log.error("journal segment %s cannot be read (%s); its records stay on disk", path, exc.strerror)
        return
    with source:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                yield record_from_line(line)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                log.error("%s:%d: skipped a damaged journal record (%s)", path, number, exc)


class Journal:
    """The segments under ``directory``: the current run's, and those earlier runs left behind.

    Not thread-safe by itself: the writer calls ``append``, ``reset`` and ``seal`` under its lock.
    """

    def __init__(self, directory: Path, legacy: Sequence[Path] = ()) -> None:
        self.directory = directory
        self._run = f"segment-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}"
        self.path = directory / f"{self._run}-0000.jsonl"  # names sort in the order they were written
        self._fd: int | None = None
        self._size = 0
        self._sealed = 0
        self._leftovers = [p for p in legacy if p.is_file()]
        with contextlib.suppress(OSError):
            self._leftovers += sorted(directory.glob("segment-*.jsonl"))

    def leftovers(self) -> list[Path]:
        """Segments of earlier runs (and sealed ones of this run), oldest first, still to be replayed."""
        return list(self._leftovers)

    @property
    def size(self) -> int:
        """Bytes in the current segment (0 when everything in it has been committed)."""
        return self._size

    def append(self, records: Sequence[Record]) -> bool:
        """Append ``records`` to the current segment; False (nothing raised) when it cannot be written."""
        data = "".join(record_to_line(r) for r in records).encode("utf-8")
        try:
            if self._fd is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            written = os.write(self._fd, data)
        except OSError as exc:
            log.debug("journal %s not writable: %s", self.path, exc)
            return False
        if written != len(data):  # a partial line on a full disk: cut it off again
            self._truncate_to(self._size)
            return False
        self._size += written
        return True

    def sync(self) -> None:
        """fsync the current segment (for power cuts; a killed process loses nothing without it)."""
        fd = self._fd
        if fd is not None and self._size:
            try:
                os.fsync(fd)
            except OSError as exc:
                log.debug("journal %s: fsync failed: %s", self.path, exc)

    def reset(self) -> None:
        """Everything in the current segment is committed: empty it (the file stays for the next record)."""
        if self._size:
            self._truncate_to(0)

    def seal(self) -> Path | None:
        """Close the current segment as one to replay; later records go to a fresh segment."""
        if self._fd is None or not self._size:
            return None
        self.close()
        sealed = self.path
        self._leftovers.append(sealed)
        self._sealed += 1
        self.path = self.directory / f"{self._run}-{self._sealed:04d}.jsonl"
        self._size = 0
        return sealed

    def done(self, path: Path) -> None:
        """A replayed segment is in the database: remove it."""
        if path in self._leftovers:
            self._leftovers.remove(path)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("replayed journal segment %s could not be removed: %s", path, exc.strerror)

    def close(self) -> None:
        """Close the current segment; an empty one is removed, one with records stays for the next start."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.fsync(fd)
        os.close(fd)
        if not self._size:
            self.path.unlink(missing_ok=True)

    def _truncate_to(self, size: int) -> None:
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, size)
            self._size = size
        except OSError as exc:
            # A segment that cannot be emptied is replayed again later: harmless, upserts are idempotent.
            log.debug("journal %s could not be truncated: %s", self.path, exc)
