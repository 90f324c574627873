"""Load YAML into strict pydantic models with errors that point at FILE:LINE:COLUMN.

Every config file a person edits (device settings, the ad catalog, rule tables) goes through
``load_model``: a syntax error or a validation error becomes a ``ConfigError`` whose findings
each name the file, the line and column of the offending key or value, the key path, and what
was expected, in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
Location = tuple[int, int]  # 1-based line and column
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    column: int
    key: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f" ({self.key})" if self.key else ""
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
            "severity": self.severity,
        }


class ConfigError(Exception):
    """A config file that cannot be used; ``findings`` lists every located problem."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings = tuple(findings)
        super().__init__("\n".join(str(f) for f in self.findings))


def _key_scalar(node: yaml.Node) -> str | int:
    value = node.value if isinstance(node, yaml.ScalarNode) else str(node.value)
    return value


def _index_nodes(node: yaml.Node, path: KeyPath, out: dict[KeyPath, tuple[Location, Location]]) -> None:
    """Map each key path to (location of its key, location of its value)."""
    value_loc = (node.start_mark.line + 1, node.start_mark.column + 1)
    if path not in out:
        out[path] = (value_loc, value_loc)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _key_scalar(key_node)
            child = (*path, key)
            key_loc = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[child] = (key_loc, (value_node.start_mark.line + 1, value_node.start_mark.column + 1))
            _index_nodes(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_nodes(item, (*path, i), out)


class _LazyLocations(dict[KeyPath, tuple[Location, Location]]):
    """Filled from the node tree on first lookup: a valid file is never asked where its keys are."""

    def __init__(self, node: yaml.Node) -> None:
        super().__init__()
        self._node: yaml.Node | None = node

    def _fill(self) -> None:
        node, self._node = self._node, None
        if node is not None:
            _index_nodes(node, (), self)

    def __contains__(self, key: object) -> bool:
        if self._node is not None:
            self._fill()
        return super().__contains__(key)

    def __getitem__(self, key: KeyPath) -> tuple[Location, Location]:
        if self._node is not None:
            self._fill()
        return super().__getitem__(key)

    def get(self, key: KeyPath, default: Any = None) -> Any:
        if self._node is not None:
            self._fill()
        return super().get(key, default)

    def __len__(self) -> int:
        if self._node is not None:
            self._fill()
        return super().__len__()


@dataclass(frozen=True)
class LocatedDocument:
    """A parsed YAML document plus where each key path sits in the file."""

    file: str
    data: Any
    locations: dict[KeyPath, tuple[Location, Location]]

    def locate(self, path: Iterable[str | int], *, at_key: bool = False) -> Location:
        """Line/column of the deepest existing node on ``path`` (the value, or the key itself)."""
        parts = tuple(path)
        while parts:
            if parts in self.locations:
                key_loc, value_loc = self.locations[parts]
                return key_loc if at_key else value_loc
            parts = parts[:-1]
        return self.locations.get((), ((1, 1), (1, 1)))[1]

    def finding(self, path: Iterable[str | int], message: str, severity: str = "error") -> Finding:
        parts = tuple(path)
        line, column = self.locate(parts)
        return Finding(self.file, line, column, format_key(parts), message, severity)


def format_key(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# libyaml when installed: about ten times faster than the pure-Python parser, same marks and errors.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """One parse gives both the node tree (for locations) and the Python data."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def parse_yaml(text: str, file: str, *, lazy_locations: bool = False) -> LocatedDocument:
    """Parse one YAML document; a syntax error raises ConfigError located at the problem.

    ``lazy_locations`` defers mapping key paths to lines until the first lookup (large files
    that are usually valid, such as rule tables, load faster).
    """
    try:
        node, data = _compose_and_construct(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        raise ConfigError(
            [Finding(file, line, column, "", f"YAML syntax error: {problem}{context}")]
        ) from exc
    except yaml.YAMLError as exc:  # e.g. a bad tag or a non-UTF-8 byte
        raise ConfigError([Finding(file, 1, 1, "", f"YAML error: {exc}")]) from exc
    if lazy_locations and node is not None:
        return LocatedDocument(file=file, data=data, locations=_LazyLocations(node))
    locations: dict[KeyPath, tuple[Location, Location]] = {}
    if node is not None:
        _index_nodes(node, (), locations)
    return LocatedDocument(file=file, data=data, locations=locations)


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key; check its spelling or remove it"
    if kind == "missing":
        return "required key is missing"
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def validation_findings(doc: LocatedDocument, exc: ValidationError) -> list[Finding]:
    findings = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        at_key = error.get("type") in ("extra_forbidden",)
        line, column = doc.locate(loc, at_key=at_key)
        value = error.get("input")
        message = _describe(error)
        if error.get("type") not in ("missing", "extra_forbidden") and isinstance(value, str | int | float):
            message = f"{message} (got {value!r})"
        findings.append(Finding(doc.file, line, column, format_key(loc), message))
    return findings


def validate_document(
    doc: LocatedDocument, model: type[ModelT], context: dict[str, Any] | None = None
) -> ModelT:
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        line, column = doc.locate(())
        raise ConfigError(
            [Finding(doc.file, line, column, "", "the file must be a mapping of keys to values")]
        )
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(validation_findings(doc, exc)) from exc


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", "file is not UTF-8 text")]) from exc
    except OSError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", f"cannot read file: {exc.strerror}")]) from exc


def load_model(path: Path, model: type[ModelT], context: dict[str, Any] | None = None) -> ModelT:
    """Read, parse and validate ``path``; every problem raises one located ConfigError."""
    doc = parse_yaml(read_text(path), str(path))
    return validate_document(doc, model, context)
