"""The overflow journal: plays that could not be kept in memory while the database was failing.

When the writer's buffer is full (the database has been failing for a long time), the oldest
waiting play is appended here as one JSON line instead of being dropped; the next start-up writes
the journal into the database and removes it. Only if this file cannot be written either (a full
disk) is a play lost, and then it is counted and reported, never silently.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from signage.domain import Play, PlayOutcome

log = logging.getLogger(__name__)


def play_to_json(play: Play) -> str:
    data: dict[str, Any] = asdict(play)
    for key in ("started_at", "ended_at"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, datetime) else None
    data["outcome"] = None if play.outcome is None else str(play.outcome)
    return json.dumps(data, separators=(",", ":"))


def play_from_json(line: str) -> Play:
    data = json.loads(line)
    data["started_at"] = datetime.fromisoformat(data["started_at"])
    data["ended_at"] = None if data["ended_at"] is None else datetime.fromisoformat(data["ended_at"])
    data["outcome"] = None if data["outcome"] is None else PlayOutcome(data["outcome"])
    return Play(**data)


class OverflowJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, plays: list[Play]) -> bool:
        """Append ``plays``; False (nothing raised) when the file cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write("".join(play_to_json(p) + "\n" for p in plays))
                out.flush()
            return True
        except OSError as exc:
            log.debug("overflow journal %s not writable: %s", self.path, exc)
            return False

    def read(self) -> list[Play]:
        """Every readable play in the journal; a damaged line is reported and skipped."""
        if not self.path.exists():
            return []
        plays = []
        with self.path.open(encoding="utf-8", errors="replace") as source:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    plays.append(play_from_json(line))
                except (ValueError, TypeError, KeyError) as exc:
                    log.error("%s:%d: skipped a damaged overflow record (%s)", self.path, number, exc)
        return plays

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
