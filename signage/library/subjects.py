"""The subject taxonomy file (``ads/subjects.yaml``), validated with located errors.

An operator may add subjects or rewrite descriptions; the classifier is zero-shot over the
descriptions, so the change works on the next classification. Restricted subjects from the device
policy are merged in, so ``alcohol`` stays restricted even if the file forgets to say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from classifier.subjects.types import Subject
from signage.settings import PROJECT_ROOT
from signage.strictmodel import StrictModel
from signage.yamlconf import load_model

DEFAULT_SUBJECTS_FILE = PROJECT_ROOT / "ads" / "subjects.yaml"

SubjectId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]


class SubjectEntry(StrictModel):
    id: SubjectId
    description: Annotated[str, Field(min_length=3)]
    restricted: bool = False


class SubjectsFile(StrictModel):
    subjects: Annotated[list[SubjectEntry], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> SubjectsFile:
        seen: set[str] = set()
        for entry in self.subjects:
            if entry.id in seen:
                raise ValueError(f"subject id {entry.id!r} is listed twice; ids must be unique")
            seen.add(entry.id)
        return self


def subjects_file_for(catalog: Path) -> Path:
    """``subjects.yaml`` beside the catalog when there is one, else the project default."""
    beside = catalog.resolve().parent / "subjects.yaml"
    return beside if beside.is_file() else DEFAULT_SUBJECTS_FILE


def load_taxonomy(path: Path, restricted_by_policy: tuple[str, ...] = ()) -> tuple[Subject, ...]:
    """Subjects from ``path``; raises ``signage.yamlconf.ConfigError`` pointing at the bad line."""
    spec = load_model(path, SubjectsFile)
    return tuple(
        Subject(
            subject_id=e.id,
            description=" ".join(e.description.split()),
            restricted=e.restricted or e.id in restricted_by_policy,
        )
        for e in spec.subjects
    )
