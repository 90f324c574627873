"""Load YAML into strict pydantic models with errors that point at FILE:LINE:COLUMN.

Every config file a person edits (device settings, the ad catalog, rule tables) goes through
``load_model``: a syntax error or a validation error becomes a ``ConfigError`` whose findings
each name the file, the line and column of the offending key or value, the key path, and what
was expected, in one sentence. Parsing itself is bounded (no recursion, an alias budget, no
duplicate keys): see ``signage.yamlsafe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

from signage.yamlsafe import LIBYAML, MERGE_TAG, YamlRefused, load_nodes

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
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return "[...]" if isinstance(node, yaml.SequenceNode) else "{...}"


def _loc(mark: yaml.Mark) -> Location:
    return (mark.line + 1, mark.column + 1)


def _index_nodes(
    root: yaml.Node,
    path: KeyPath,
    out: dict[KeyPath, tuple[Location, Location]],
    node_paths: dict[int, KeyPath] | None = None,
) -> None:
    """Map each key path to (location of its key, location of its value).

    Iterative, and each list or mapping is walked once: a value shared through an alias is
    indexed where it is defined; at the alias only its own path is recorded. Keys merged with
    ``<<`` are indexed one level deep, after the mapping's own keys (which win). ``node_paths``
    receives the first key path of each node (for locating problems found at nodes).
    """
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, path)]
    while stack:
        node, at = stack.pop()
        value_loc = _loc(node.start_mark)
        if at not in out:
            out[at] = (value_loc, value_loc)
        if node_paths is not None:
            node_paths.setdefault(id(node), at)
        if id(node) in seen or isinstance(node, yaml.ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            merges: list[yaml.Node] = []
            children: list[tuple[yaml.Node, KeyPath]] = []
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    merges.extend(
                        value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                    )
                    continue
                child = (*at, _key_scalar(key_node))
                out[child] = (_loc(key_node.start_mark), _loc(value_node.start_mark))
                if node_paths is not None:
                    node_paths.setdefault(id(key_node), child)
                children.append((value_node, child))
            stack.extend(reversed(children))  # popped in file order: an anchor before its aliases
            for source in merges:
                if isinstance(source, yaml.MappingNode):
                    for key_node, value_node in source.value:
                        merged = (*at, _key_scalar(key_node))
                        out.setdefault(merged, (_loc(key_node.start_mark), _loc(value_node.start_mark)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed([(item, (*at, i)) for i, item in enumerate(node.value)]))


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


def _at_offset(text: str, offset: int, *, in_bytes: bool) -> Location:
    """Line and column of a character offset (or a UTF-8 byte offset) into ``text``."""
    prefix = (
        text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
        if in_bytes
        else text[:offset]
    )
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _syntax_finding(exc: Exception, text: str, file: str) -> Finding:
    """One located sentence for whatever stopped the parser."""
    if isinstance(exc, YamlRefused):
        line, column = _loc(exc.mark) if exc.mark else (1, 1)
        return Finding(file, line, column, "", exc.message)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, column = _loc(mark) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        return Finding(file, line, column, "", f"YAML syntax error: {problem}{context}")
    if isinstance(exc, yaml.reader.ReaderError):  # a control character; libyaml counts UTF-8 bytes
        line, column = _at_offset(text, exc.position, in_bytes=LIBYAML)
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return Finding(file, line, column, "", f"the character {what} is not allowed in a YAML file")
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate in the text: not encodable
        line, column = _at_offset(text, exc.start, in_bytes=False)
        what = f"#x{ord(exc.object[exc.start]):04x}" if exc.start < len(exc.object) else "a character"
        return Finding(file, line, column, "", f"the character {what} is not valid Unicode text")
    if isinstance(exc, RecursionError):
        return Finding(file, 1, 1, "", "the file nests too deeply")
    return Finding(file, 1, 1, "", f"cannot read the file as YAML: {exc}")


def parse_yaml(text: str, file: str, *, lazy_locations: bool = False) -> LocatedDocument:
    """Parse one YAML document; every problem raises ConfigError located at its node.

    Syntax errors, control characters, impossible dates and numbers, bad base64, unknown tags,
    duplicate keys, too deep nesting and alias bombs (see ``signage.yamlsafe``) are all refused.
    ``lazy_locations`` defers mapping key paths to lines until the first lookup (large files
    that are usually valid, such as rule tables, load faster).
    """
    try:
        node, data, problems = load_nodes(text)
    except Exception as exc:  # any parser failure is a located config error
        raise ConfigError([_syntax_finding(exc, text, file)]) from exc
    if problems and node is not None:
        index: dict[KeyPath, tuple[Location, Location]] = {}
        node_paths: dict[int, KeyPath] = {}
        _index_nodes(node, (), index, node_paths)
        ordered = sorted(problems, key=lambda p: p.node.start_mark.index)
        raise ConfigError(
            Finding(file, *_loc(p.node.start_mark), format_key(node_paths.get(id(p.node), ())), p.message)
            for p in ordered
        )
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
    except RecursionError as exc:  # parse_yaml bounds nesting; a hand-built document may not
        raise ConfigError([Finding(doc.file, 1, 1, "", "the file nests too deeply")]) from exc


def no_control_characters(value: str) -> str:
    """Text that goes into a database column or a log line: no NUL, tab or line break."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (tabs, line breaks, NUL)")
    return value


def _no_nul(value: Path) -> Path:
    if "\x00" in str(value):
        raise ValueError("a path must not contain a NUL character")
    return value


# A path field of a config file: the OS refuses a NUL byte in a path with ValueError, not OSError.
ConfigPath = Annotated[Path, AfterValidator(_no_nul)]


def read_text(path: Path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a located ConfigError naming it as ``what`` ("rule file") if unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", f"{what} not found")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", f"{what} is not UTF-8 text")]) from exc
    except OSError as exc:
        raise ConfigError([Finding(str(path), 1, 1, "", f"cannot read {what}: {exc.strerror}")]) from exc
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ConfigError([Finding(str(path), 1, 1, "", f"cannot read {what}: {exc}")]) from exc


def load_model(path: Path, model: type[ModelT], context: dict[str, Any] | None = None) -> ModelT:
    """Read, parse and validate ``path``; every problem raises one located ConfigError."""
    doc = parse_yaml(read_text(path), str(path))
    return validate_document(doc, model, context)
