"""Bounded YAML: compose and construct a document without recursion and within a budget.

PyYAML's own composer and constructor recurse once per nesting level, follow self-referencing
aliases, let a few hundred bytes of aliases expand to billions of values ("billion laughs"),
keep the last of two equal keys, and raise bare ``ValueError``s from scalar constructors (an
impossible date such as ``2026-02-30``). Config files are written by people, so this module reads
libyaml's event stream itself, with an explicit stack:

- nesting deeper than ``MAX_DEPTH``, more than ``MAX_ALIASES`` aliases, or aliases that would add
  more than ``MAX_ALIAS_NODES`` values to the document stop the parse (``YamlRefused``);
- an alias to the node it is written in (a recursive alias), an undefined or redefined anchor,
  and a second document stop it too;
- a scalar that cannot be built (bad date, number, base64, tag), a duplicate key, a key that is a
  list or mapping, and an unsupported collection tag are each reported at their node
  (``NodeProblem``); the rest of the document is still built, so every such problem is listed.

Aliases stay shared (one node, one Python object), as PyYAML builds them.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_DEPTH = 64  # nested lists/mappings; the deepest shipped file uses 6
MAX_ALIASES = 500  # alias uses (*name) in one file
MAX_ALIAS_NODES = 10_000  # values that aliases may add to the document, all together

# libyaml when installed: about ten times faster than the pure-Python parser, same marks and errors.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LIBYAML = _Loader is not yaml.SafeLoader  # libyaml reports reader errors at UTF-8 byte offsets

_TAG = "tag:yaml.org,2002:"
MAP_TAG, SEQ_TAG, MERGE_TAG = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}merge"
_SCALAR_KINDS = {
    f"{_TAG}null": "null value",
    f"{_TAG}bool": "true/false value",
    f"{_TAG}int": "whole number",
    f"{_TAG}float": "number",
    f"{_TAG}binary": "base64 binary value",
    f"{_TAG}timestamp": "date or time",
    f"{_TAG}str": "text",
}
_SCALAR_CONSTRUCTORS = {tag: _Loader.yaml_constructors[tag] for tag in _SCALAR_KINDS}


class YamlRefused(Exception):
    """The document cannot be composed at all; ``mark`` is where reading stopped."""

    def __init__(self, mark: Any, message: str) -> None:  # a yaml.Mark, from libyaml or Python
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass(frozen=True)
class NodeProblem:
    """One value of a composed document that cannot be used, and why (one sentence)."""

    node: yaml.Node
    message: str


class _Open:
    """A list or mapping being composed."""

    __slots__ = ("anchor", "is_seq", "key", "node", "size")

    def __init__(self, node: yaml.SequenceNode | yaml.MappingNode, anchor: str | None, is_seq: bool) -> None:
        self.node = node
        self.anchor = anchor
        self.is_seq = is_seq
        self.size = 1  # values in this node once its aliases are expanded, itself included
        self.key: yaml.Node | None = None  # a mapping's key waiting for its value


def short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def _preview(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


@dataclass
class _Composer:
    loader: Any
    anchors: dict[str, yaml.Node] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)  # id(anchored node) -> expanded size
    open_anchors: dict[str, yaml.Mark] = field(default_factory=dict)
    aliases: int = 0
    added: int = 0

    def _anchor(self, anchor: str | None, node: yaml.Node, size: int) -> None:
        if anchor is None:
            return
        self.anchors[anchor] = node
        self.sizes[id(node)] = size

    def _check_new_anchor(self, anchor: str | None, mark: yaml.Mark) -> None:
        if anchor is not None and (anchor in self.anchors or anchor in self.open_anchors):
            raise YamlRefused(mark, f"the anchor &{anchor} is defined twice; give each anchor its own name")

    def _alias(self, event: yaml.AliasEvent) -> tuple[yaml.Node, int]:
        name = event.anchor
        if name in self.open_anchors:
            raise YamlRefused(
                event.start_mark,
                f"the alias *{name} refers to the value it is written in (a recursive alias)",
            )
        node = self.anchors.get(name) if name is not None else None
        if node is None:
            raise YamlRefused(
                event.start_mark, f"the alias *{name} is not defined above; write &{name} on a value first"
            )
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise YamlRefused(
                event.start_mark, f"too many aliases: a config file may use at most {MAX_ALIASES}"
            )
        size = self.sizes[id(node)]
        self.added += size
        if self.added > MAX_ALIAS_NODES:
            raise YamlRefused(
                event.start_mark,
                f"the alias *{name} expands too much: aliases may add at most {MAX_ALIAS_NODES} values to a file",
            )
        return node, size

    def document(self) -> yaml.Node | None:
        """The one document of the stream as a node graph (None for an empty file)."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        root = self._root()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            extra = loader.get_event()
            raise YamlRefused(extra.start_mark, "the file holds more than one YAML document (a second '---')")
        return root

    def _root(self) -> yaml.Node:
        get_event, resolve = self.loader.get_event, self.loader.resolve
        stack: list[_Open] = []
        while True:
            event = get_event()
            cls = type(event)
            node: yaml.Node
            if cls is yaml.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                size = 1
                if event.anchor is not None:
                    self._check_new_anchor(event.anchor, event.start_mark)
                    self._anchor(event.anchor, node, 1)
            elif cls is yaml.MappingStartEvent or cls is yaml.SequenceStartEvent:
                stack.append(self._open(event, len(stack), resolve))
                continue
            elif cls is yaml.MappingEndEvent or cls is yaml.SequenceEndEvent:
                frame = stack.pop()
                node, size = frame.node, frame.size
                node.end_mark = event.end_mark
                if frame.anchor is not None:
                    del self.open_anchors[frame.anchor]
                    self._anchor(frame.anchor, node, size)
            elif cls is yaml.AliasEvent:
                node, size = self._alias(event)
            else:  # the parser guarantees the order; anything else is a bug in this loop
                raise YamlRefused(event.start_mark, f"unexpected YAML event {cls.__name__}")
            if not stack:
                return node
            parent = stack[-1]
            parent.size += size
            if parent.is_seq:
                parent.node.value.append(node)
            elif parent.key is None:
                parent.key = node
            else:
                parent.node.value.append((parent.key, node))
                parent.key = None

    def _open(self, event: Any, depth: int, resolve: Any) -> _Open:
        if depth >= MAX_DEPTH:
            raise YamlRefused(
                event.start_mark, f"the file nests lists and mappings more than {MAX_DEPTH} levels deep"
            )
        is_seq = type(event) is yaml.SequenceStartEvent
        kind = yaml.SequenceNode if is_seq else yaml.MappingNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, event.end_mark, flow_style=event.flow_style)
        if event.anchor is not None:
            self._check_new_anchor(event.anchor, event.start_mark)
            self.open_anchors[event.anchor] = event.start_mark
        return _Open(node, event.anchor, is_seq)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):  # a merge key (<<) is no value of its own
        return [n for pair in node.value for n in pair if n is pair[1] or n.tag != MERGE_TAG]
    return []


@dataclass
class _Constructor:
    loader: Any
    memo: dict[int, Any] = field(default_factory=dict)
    problems: list[NodeProblem] = field(default_factory=list)

    def build(self, root: yaml.Node) -> Any:
        """Python data for ``root``, children before parents, each shared node once."""
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in self.memo:
                continue
            if isinstance(node, yaml.ScalarNode):
                self.memo[id(node)] = self._scalar(node)
            elif expanded:
                if isinstance(node, yaml.SequenceNode):
                    self.memo[id(node)] = self._sequence(node)
                elif isinstance(node, yaml.MappingNode):
                    self.memo[id(node)] = self._mapping(node)
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in _children(node) if id(child) not in self.memo)
        return self.memo[id(root)]

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        constructor = _SCALAR_CONSTRUCTORS.get(node.tag)
        if constructor is None:
            what = (
                "'<<' merges mappings and is only a key" if node.tag == MERGE_TAG else "it is not supported"
            )
            self.problems.append(
                NodeProblem(node, f"the tag {short_tag(node.tag)} cannot be used here: {what}")
            )
            return node.value
        try:
            return constructor(self.loader, node)
        except Exception as exc:  # every constructor failure is the file's fault
            kind = _SCALAR_KINDS[node.tag]
            reason = ""  # Python's own words only where they help ("day is out of range for month")
            if "digits" in str(exc):
                reason = "it has too many digits"
            elif isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
                reason = exc.problem
            elif node.tag.endswith(("timestamp", "binary")) and isinstance(exc, ValueError):
                reason = str(exc)
            message = f"{_preview(node.value)} is not a valid {kind}" + (f": {reason}" if reason else "")
            self.problems.append(NodeProblem(node, message))
            return node.value

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self.problems.append(NodeProblem(node, f"the tag {short_tag(node.tag)} is not supported here"))

    def _sequence(self, node: yaml.SequenceNode) -> list[Any]:
        self._check_tag(node, SEQ_TAG)
        return [self.memo[id(item)] for item in node.value]

    def _mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        self._check_tag(node, MAP_TAG)
        explicit: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == MERGE_TAG:
                self._merge(value_node, merged)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    NodeProblem(key_node, "a key must be a plain value, not a list or mapping")
                )
                continue
            key = self.memo[id(key_node)]
            if key in explicit:
                shown = _preview(str(key))
                line = first_line[key]
                self.problems.append(
                    NodeProblem(key_node, f"duplicate key {shown}: it is already set on line {line}")
                )
                continue
            explicit[key] = self.memo[id(value_node)]
            first_line[key] = key_node.start_mark.line + 1
        if not merged:
            return explicit
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}

    def _merge(self, value_node: yaml.Node, merged: dict[Any, Any]) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``: keys not yet merged (earlier sources win)."""
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.problems.append(
                    NodeProblem(source, "a merge key (<<) takes a mapping or a list of mappings")
                )
                continue
            for key, value in self.memo[id(source)].items():
                merged.setdefault(key, value)


def load_nodes(text: str) -> tuple[yaml.Node | None, Any, list[NodeProblem]]:
    """Compose and construct one document: (node graph, data, problems found at nodes).

    Raises ``YamlRefused`` for a document that exceeds the budget or refers to itself, and lets
    PyYAML's own ``YAMLError``s (syntax) and ``UnicodeEncodeError`` (lone surrogates) through.
    """
    loader = _Loader(text)
    # Building a large tree of new objects triggers the cyclic GC again and again (it walks the
    # growing tree each time: 2-3x the parse time of a 1,000-rule table); nothing here makes cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        node = _Composer(loader).document()
        if node is None:
            return None, None, []
        constructor = _Constructor(loader)
        data = constructor.build(node)
        return node, data, constructor.problems
    finally:
        if collecting:
            gc.enable()
        loader.dispose()
