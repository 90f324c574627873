"""Round-trip edits of the catalog YAML: comments, key order and formatting survive.

The catalog is a file people edit by hand, so the library never regenerates it: it loads it with
ruamel.yaml's round-trip loader, changes only the entries it was asked to, and replaces the file
atomically (write a temporary file beside it, fsync, rename), so a crash or a refused edit leaves the
previous bytes in place. Validation goes through ``signage.catalog``'s schema before anything is
written, so the library cannot produce a catalog the player would reject.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from signage.catalog import CatalogFile
from signage.yamlconf import ConfigError, Finding, parse_yaml, read_text, validate_document

_NEW_CATALOG = """\
# The ad catalog: one entry per creative. Paths are relative to this folder.
# `subjects` are confirmed by a person; `auto_subjects` are written by `signage ads tag`.
ads: []
"""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class CatalogDocument:
    """One catalog file held as an editable round-trip tree."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.original = text
        self._yaml = _yaml()
        # Refuse to edit a broken file. The player's bounded parser reads it first, so ruamel
        # (recursive, no alias budget, YAML 1.2) only ever sees a file without alias bombs,
        # recursive aliases, duplicate keys, impossible values or excessive nesting.
        self.spec: CatalogFile = validate_document(parse_yaml(text, str(path)), CatalogFile)
        data = _round_trip_load(self._yaml, text, str(path))
        self.root: CommentedMap = data if isinstance(data, CommentedMap) else CommentedMap()
        if not isinstance(self.root.get("ads"), list):
            self.root["ads"] = CommentedSeq()

    @classmethod
    def open(cls, path: Path) -> CatalogDocument:
        """Load ``path``; a missing catalog starts empty (it is written on the first save)."""
        text = read_text(path) if path.exists() else _NEW_CATALOG
        return cls(path, text)

    @property
    def base(self) -> Path:
        return self.path.resolve().parent

    @property
    def ads(self) -> CommentedSeq:
        return self.root["ads"]

    def entries(self) -> Iterator[CommentedMap]:
        yield from (e for e in self.ads if isinstance(e, CommentedMap))

    def find(self, ad_id: str) -> CommentedMap | None:
        return next((e for e in self.entries() if e.get("id") == ad_id), None)

    def find_by_sha(self, sha256: str) -> CommentedMap | None:
        return next((e for e in self.entries() if e.get("sha256") == sha256), None)

    def ids(self) -> set[str]:
        return {str(e.get("id")) for e in self.entries()}

    def append(self, fields: dict[str, Any]) -> CommentedMap:
        entry = CommentedMap()
        for key, value in fields.items():
            entry[key] = _flow(value)
        self.ads.append(entry)
        return entry

    def remove(self, ad_id: str) -> CommentedMap | None:
        for i, entry in enumerate(self.ads):
            if isinstance(entry, CommentedMap) and entry.get("id") == ad_id:
                del self.ads[i]
                return entry
        return None

    def set_auto_subjects(self, ad_id: str, scored: list[tuple[str, float]]) -> None:
        entry = self.find(ad_id)
        if entry is None:
            raise KeyError(ad_id)
        value = _flow([{"id": s, "score": round(float(v), 3)} for s, v in scored])
        if "auto_subjects" in entry:
            entry["auto_subjects"] = value
        else:
            # Right after `subjects` when present, so a reader sees both lists together.
            keys = list(entry.keys())
            position = keys.index("subjects") + 1 if "subjects" in keys else len(keys)
            entry.insert(position, "auto_subjects", value)

    def dump(self) -> str:
        out = io.StringIO()
        self._yaml.dump(self.root, out)
        return out.getvalue()

    def save(self) -> None:
        """Validate the new text with the player's schema, then atomically replace the file."""
        text = self.dump()
        spec = validate_document(parse_yaml(text, str(self.path)), CatalogFile)
        atomic_write_text(self.path, text)
        self.original, self.spec = text, spec


def _round_trip_load(yaml: YAML, text: str, file: str) -> Any:
    """ruamel's editable tree of a file the bounded parser accepted; any refusal is located."""
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"the catalog cannot be edited: {exc.problem or exc.context or 'invalid YAML'}"
        raise ConfigError([Finding(file, line, column, "", message)]) from exc
    except Exception as exc:  # anything else ruamel refuses (it reads YAML 1.2, the player 1.1)
        raise ConfigError([Finding(file, 1, 1, "", f"the catalog cannot be edited: {exc}")]) from exc


def _flow(value: Any) -> Any:
    """Short lists and small mappings in flow style (``[drinks]``, ``{id: x, score: 0.8}``)."""
    if isinstance(value, dict):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _flow(v)
        if all(not isinstance(v, dict | list) for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_flow(v) for v in value)
        if all(not isinstance(v, dict | list) for v in value):
            seq.fa.set_flow_style()
        return seq
    return value


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["CatalogDocument", "ConfigError", "atomic_write_text"]
