"""What one doctor check found: its level, what it saw, and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Level(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" -> fix: {self.fix}" if self.fix else ""
        return f"{self.level.value:<4}  {self.name:<9} {self.detail}{fix}"

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "level": self.level.name.lower(), "detail": self.detail, "fix": self.fix}
