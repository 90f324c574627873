"""Reading a taxonomy file without the runtime package (the CLI validates it with located errors)."""

from __future__ import annotations

from pathlib import Path

import yaml

from classifier.subjects.types import Subject

DEFAULT_TAXONOMY = Path(__file__).resolve().parents[2] / "ads" / "subjects.yaml"


def subjects_from_data(data: object, source: str) -> tuple[Subject, ...]:
    entries = data.get("subjects") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{source} must have a non-empty 'subjects' list.")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("description"):
            raise ValueError(f"{source}: subject #{i + 1} needs an 'id' and a 'description'.")
        out.append(Subject(str(entry["id"]), str(entry["description"]), bool(entry.get("restricted", False))))
    return tuple(out)


def load_subjects(path: Path = DEFAULT_TAXONOMY) -> tuple[Subject, ...]:
    return subjects_from_data(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
