"""``models/manifest.yaml``: which weight files exist, their sha256, and how they were made.

One entry per model under ``models:``; the attribute model's entry is ``face_attributes``, the separate
emotion network that it blends with (when present) is ``face_emotion``. The sha256 is what
stops start-up with one clear sentence when a file is missing, truncated or replaced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MANIFEST_NAME = "manifest.yaml"
ENTRY_NAME = "face_attributes"
EMOTION_ENTRY = "face_emotion"


class ModelError(RuntimeError):
    """A model file is missing, corrupt or unusable; the message is one sentence naming the file."""


class ManifestEntry(BaseModel):
    # Only ``file`` and ``sha256`` are needed to load; the rest documents the model and is free-form.
    model_config = ConfigDict(extra="allow", frozen=True)

    file: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_file(path: Path) -> dict[str, Any]:
    """The start of a manifest entry for ``path`` (in the models folder): name, sha256, size, date (UTC)."""
    import datetime as dt

    return {
        "file": path.name,
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def read_manifest(models_dir: Path) -> dict[str, Any]:
    path = models_dir / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(f"Model manifest {path} is missing.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"Model manifest {path} cannot be read: {str(exc).splitlines()[0]}.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ModelError(f"Model manifest {path} has no 'models:' mapping.")
    return data


def verified_file(models_dir: Path, name: str = ENTRY_NAME) -> tuple[Path, ManifestEntry]:
    """The weight file for ``name``, after checking it exists and matches its sha256."""
    manifest_path = models_dir / MANIFEST_NAME
    raw = read_manifest(models_dir)["models"].get(name)
    if raw is None:
        raise ModelError(f"Model manifest {manifest_path} has no entry for '{name}'.")
    try:
        entry = ManifestEntry.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ModelError(
            f"Model manifest {manifest_path} entry '{name}' is invalid at '{where}': {first['msg']}."
        ) from exc
    path = models_dir / entry.file
    if not path.is_file():
        raise ModelError(f"Model weights {path} are missing (listed in {manifest_path}).")
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise ModelError(
            f"Model weights {path} are corrupt or replaced: their sha256 starts {actual[:12]}, "
            f"not {entry.sha256[:12]} as pinned in {manifest_path}."
        )
    return path, entry


def write_entry(models_dir: Path, name: str, entry: dict[str, Any]) -> Path:
    """Add or replace one model's entry, keeping the others."""
    path = models_dir / MANIFEST_NAME
    data: dict[str, Any] = {"models": {}}
    if path.is_file():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict) and isinstance(loaded.get("models"), dict):
            data = loaded
    data["models"][name] = entry
    header = "# Trained model files, pinned by sha256. Written by `signage train`; do not edit by hand.\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
