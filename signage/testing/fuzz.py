"""A seeded mutator of the three config files people edit: settings, the ad catalog, rule tables.

Each generated file starts from a valid sample (the shipped ``rules/*.yaml`` and
``ads/catalog.yaml``, ``SETTINGS_SEED`` below) and gets one to three mutations, chosen to reach
every layer of the loaders: the bytes (flips, non-UTF-8, control characters), the YAML syntax
(line deletion, duplication and swaps, tabs, truncation, punctuation), the YAML graph (alias
bombs, recursive aliases, deep nesting, merges, tags, several documents) and the values (type
swaps, impossible dates, huge numbers, long strings, plausible but wrong words).

``generate(kind, rng)`` returns the file's bytes and a description of what was done, so a
failing case can be reproduced from its seed and read without the file. Used by
``tests/test_config_fuzz.py`` (small, every run) and ``bench/fuzz_config.py`` (large).
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

KINDS = ("settings", "catalog", "rules")
REPO = Path(__file__).resolve().parents[2]

SETTINGS_SEED = """\
# Every section of signage.yaml, with plausible values (the fuzzer's starting point).
screen_id: entrance-1
store_id: store-42
timezone: Europe/Paris          # store-local time for dayparts
data_dir: data
database_url: null
rules: [rules/store.yaml]
camera:
  source: auto
  width: 640
  height: 480
  fps: 30
  frozen_after_s: 5.0
display:
  fullscreen: true
  privacy_notice: true
  image_duration_s: 8
  video_output: pygame
perception:
  enabled: true
  attention_yaw_deg: 30
  confirm_hits: 3
  min_face_score: 0.5
  confident_probability: 0.9
policy:
  restricted_subjects: [alcohol]
impressions:
  viewer_threshold_s: 1.0
  before_window_s: 5.0
web:
  host: 127.0.0.1
  port: 8080
  database_url: "sqlite:///data/signage.db"
  session_max_age_s: 28800
fleet:
  central_url: "postgresql+psycopg://signage@central:5432/fleet"
  sync_interval_s: 10
log_level: INFO
"""


def seeds(kind: str) -> tuple[str, ...]:
    """The valid files a kind's mutations start from."""
    if kind == "settings":
        return (SETTINGS_SEED,)
    if kind == "catalog":
        return ((REPO / "ads" / "catalog.yaml").read_text(encoding="utf-8"),)
    if kind == "rules":
        files = [REPO / "rules" / "store.yaml", *sorted((REPO / "rules" / "examples").glob("*.yaml"))]
        return tuple(p.read_text(encoding="utf-8") for p in files)
    raise ValueError(f"unknown config kind {kind!r}; one of {', '.join(KINDS)}")


# --- values a scalar may be swapped for ----------------------------------------------------------

_ANY_VALUES = (
    "[]", "{}", "~", "null", "true", "no", "on", "0", "-1", "1.5", "-0.0", "1e3", ".inf", "-.inf",
    ".nan", "'text'", '""', "2026-02-30", "2026-13-01", "2026-02-29", "2025-02-29", "0000-01-01",
    "2026-11-21 25:61:00", "2026-11-21T10:00:00+99:00", "2026-11-21 10:00:00", "12:30", "1:20:30",
    "9" * 5000, "-" + "9" * 400, "1e999", "0x1F", "0o17", "0b101", "1_000", "+12", "!!binary zzz",
    "!!binary aGVsbG8=", "!!int x", "!!float y", "!!bool maybe", "!!timestamp nope", "!!str 5",
    "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]", "!foo bar", "!!python/object:os.system ls",
    "!!null x", "!!map x", "!!seq x", "*undefined", "&a 1", "'" + "x" * 200 + "'", "x" * 100,
    '"\\0"', '"\\t"', '"a\\u0000b"', '"\\x07"', "[[[[1]]]]", "{a: {b: {c: 1}}}", "<<", "? x",
    "'07:00-10:30'", "[1, [2, [3]]]", "{x: 1, x: 2}", "| \n  block", "> \n  folded", "'é☃𝄞'",
)  # fmt: skip
_KIND_VALUES = {
    "settings": (
        "Europe", "Europe/Paris", "Mars/Olympus", "../etc/passwd", "posixrules", "UTC", "''",
        "not a url", "foo://x/y", "postgresql://u@h:abc/db", "sqlite:///x.db", "sqlite://",
        "postgresql+psycopg://u@h/db", "mysql://u@h/db", "/proc/1/nope", "/dev/null", "/", ".",
        "data/../..", "'a\\0b'", "x" * 65, "x" * 64, "simulated", "rtsp://cam/1", "0", "DEBUG",
        "window", "'::1'",
    ),
    "catalog": (
        "media/coffee.mp4", "media/none.mp4", "x.txt", "/etc/passwd", "media", "'" + "m" * 300 + ".mp4'",
        "Bean & Co", "x" * 129, "x" * 128, "UPPER", "a b", "drinks", "[drinks, alcohol]",
        "[{id: drinks, score: 2}]", "{duration_s: -1}", "{width: .inf}",
    ),
    "rules": (
        "female", "male", "child", "teen", "25-34", "18-24", "65+", "happy", "weekdays", "weekend",
        "someday", "07:00-10:30", "'25:00-1'", "'10:00-10:00'", "'23:00-01:00'", "adult-with-child",
        "{min: 3, max: 1}", "{min: -1}", "[after-work]", "[brunch]", "{per_hour: -1}", "{}",
        "[{from: 2026-02-30}]", "[{from: 2026-12-01, until: 2026-11-01}]", "{subjects: [alcohol]}",
    ),
}  # fmt: skip
_PUNCTUATION = (
    "", ":", "-", " ", "\n", "  ", "[", "]", "{", "}", "'", '"', "&a", "*a", "!!", "\t", "#", ",",
    "%", "|", ">", "?", "@", "`", "---", "...", "<<: ", "\\", "é", "\u2028", "\ufeff",
)  # fmt: skip

# a scalar after "key: ", or an item of a flow list
_SITE = re.compile(
    r"(?<=: )[^\s,{}\[\]#][^,{}\[\]#\n]*|(?<=[\[,] )[^\s,\[\]{}#][^,\[\]{}#\n]*|(?<=\[)[^\s,\[\]{}#][^,\[\]{}#\n]*"
)
_KEY_LINE = re.compile(r"^(\s*(?:- )?)([\w.-]+):", re.MULTILINE)


def _billion_laughs(levels: int, width: int) -> str:
    """Each level an anchored list of ``width`` aliases to the level below: width**levels values."""
    names = [f"l{i}" for i in range(levels)]
    lines = [f'{names[0]}: &{names[0]} ["lol"' + ', "lol"' * (width - 1) + "]"]
    for below, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{below}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _deep(n: int, flow: bool) -> str:
    if flow:
        return "[" * n + "]" * n
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(n)) + "  " * n + "end\n"


# --- mutations: each takes the text and the random source, returns new text and what it did -------

Mutation = Callable[[str, random.Random, str], tuple[str, str]]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def delete_line(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    del lines[i]
    return "".join(lines), f"deleted line {i + 1}"


def duplicate_line(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return "".join(lines), f"duplicated line {i + 1}"


def swap_lines(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines), f"swapped lines {i + 1} and {j + 1}"


def duplicate_key(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    """Repeat a ``key: value`` line right below itself (same mapping, same key)."""
    matches = list(_KEY_LINE.finditer(text))
    if not matches:
        return duplicate_line(text, rng, kind)
    match = rng.choice(matches)
    start = match.start()
    end = text.find("\n", start)
    end = len(text) if end < 0 else end + 1
    line = text[start:end]
    indent = match.group(1).replace("-", " ")
    copy = indent + line[len(match.group(1)) :]
    copy = copy if copy.endswith("\n") else copy + "\n"
    return text[:end] + copy + text[
        end:
    ], f"key {match.group(2)!r} on line {text.count(chr(10), 0, start) + 1} repeated"


def swap_value(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    sites = list(_SITE.finditer(text))
    if not sites:
        return splice(text, rng, kind)
    site = rng.choice(sites)
    pool = _KIND_VALUES[kind] if rng.random() < 0.4 else _ANY_VALUES
    value = rng.choice(pool)
    line = text.count("\n", 0, site.start()) + 1
    return text[: site.start()] + value + text[
        site.end() :
    ], f"value {site.group()!r} on line {line} -> {value[:40]!r}"


def impossible_date(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    date = rng.choice(("2026-02-30", "2026-04-31", "2026-00-10", "2026-11-21 24:00:00", "2025-02-29"))
    if kind == "rules" and "\n  - id: " in text:
        at = text.index("\n  - id: ") + 1
        insert = f"  - id: fuzz-dates\n    dates: [{{from: {date}}}]\n    play: {{campaigns: [nova-x]}}\n"
        return text[:at] + insert + text[at:], f"rule with dates from {date}"
    if kind == "catalog" and "\n  - id: " in text:
        at = text.index("\n  - id: ") + 1
        insert = f"  - id: fuzz-dated\n    media: media/x.png\n    advertiser: A\n    campaign: c\n    valid_from: {date}\n"
        return text[:at] + insert + text[at:], f"ad valid from {date}"
    return text + f"when: {date}\n", f"top-level key with the date {date}"


def alias_bomb(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    levels, width = rng.choice(((9, 9), (9, 10), (6, 10), (4, 10), (3, 5), (12, 3), (30, 2)))
    bomb = _billion_laughs(levels, width)
    if rng.random() < 0.5:
        return bomb + text, f"alias bomb ({width}**{levels} values) at the top"
    sites = list(_SITE.finditer(text))
    if not sites:
        return text + bomb, f"alias bomb ({width}**{levels} values) at the end"
    site = rng.choice(sites)
    # the anchors first, then one value that uses the last level
    return bomb + text[: site.start()] + f"*l{levels - 1}" + text[site.end() :], (
        f"alias bomb ({width}**{levels} values) used as a value"
    )


def recursive_alias(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    value = rng.choice(("&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]", "&r {<<: *r}", "&r\n  - *r"))
    sites = list(_SITE.finditer(text))
    if not sites or rng.random() < 0.3:
        return text + f"loop: {value}\n", f"recursive alias {value!r} at the end"
    site = rng.choice(sites)
    return text[: site.start()] + value + text[site.end() :], f"recursive alias {value!r} as a value"


def deep_nesting(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    n = rng.choice((10, 63, 64, 65, 200, 999, 1001, 5000, 100_000))
    flow = n > 200 or rng.random() < 0.6
    nested = _deep(n, flow)
    if flow:
        sites = list(_SITE.finditer(text))
        if sites:
            site = rng.choice(sites)
            return text[: site.start()] + nested + text[site.end() :], f"value nested {n} levels deep"
    return text + "deep:\n" + "".join("  " + line for line in _lines(nested)), f"key nested {n} levels deep"


def merge_key(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    value = rng.choice(("<<: *nope", "<<: 5", "<<: [1, 2]", "<<: {}", "<<: {extra: 1}", "<<: &m {a: 1}"))
    lines = _lines(text)
    i = rng.randrange(len(lines))
    indent = re.match(r"\s*(?:- )?", lines[i])
    pad = " " * len(indent.group()) if indent else ""
    lines.insert(i, f"{pad}{value}\n")
    return "".join(lines), f"{value!r} inserted at line {i + 1}"


def extra_document(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    choice = rng.choice(("---\n" + text, text + "---\nsecond: doc\n", text + "...\n", "%YAML 1.1\n---\n" + text,
                         "%YAML 9.9\n---\n" + text, "%TAG ! tag:x,2000:\n---\n" + text, ""))  # fmt: skip
    return choice, "document markers or directives"


def tabs(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    lines = _lines(text)
    indented = [i for i, line in enumerate(lines) if line.startswith(" ")] or [0]
    i = rng.choice(indented)
    lines[i] = "\t" + lines[i].lstrip(" ")
    return "".join(lines), f"tab indenting line {i + 1}"


def truncate(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    at = rng.randrange(len(text) + 1)
    return text[:at], f"truncated at character {at}"


def splice(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    at = rng.randrange(len(text) + 1)
    cut = rng.choice((0, 0, 1, 2, 5))
    insert = rng.choice(_PUNCTUATION)
    return text[:at] + insert + text[at + cut :], f"{insert!r} spliced at {at} (cut {cut})"


def long_value(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    sites = list(_SITE.finditer(text))
    if not sites:
        return text + "long: " + "y" * 100_000 + "\n", "long value at the end"
    site = rng.choice(sites)
    value = rng.choice(("y" * 65, "y" * 129, "y" * 256, "y" * 5000, "y" * 100_000, "é" * 70))
    return text[: site.start()] + value + text[
        site.end() :
    ], f"value on line {text.count(chr(10), 0, site.start()) + 1} made {len(value)} long"


def crlf(text: str, rng: random.Random, kind: str) -> tuple[str, str]:
    return text.replace("\n", rng.choice(("\r\n", "\r", "\x85"))), "other line endings"


TEXT_MUTATIONS: tuple[Mutation, ...] = (
    delete_line, duplicate_line, swap_lines, duplicate_key, swap_value, swap_value, swap_value,
    impossible_date, alias_bomb, recursive_alias, deep_nesting, merge_key, extra_document, tabs,
    truncate, splice, splice, long_value, crlf,
)  # fmt: skip


def _byte_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    choice = rng.randrange(5)
    if choice == 0 and data:
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out), "bits flipped"
    at = rng.randrange(len(data) + 1)
    if choice == 1:
        junk = rng.choice((b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xf4\x90\x80\x80"))
        return data[:at] + junk + data[at:], f"non-UTF-8 bytes {junk!r} at {at}"
    if choice == 2:
        junk = rng.choice((b"\x00", b"\x07", b"\x1b", b"\x7f", b"\x0b", b"\x0c"))
        return data[:at] + junk + data[at:], f"control byte {junk!r} at {at}"
    if choice == 3:
        return data.decode("utf-8", "replace").encode("utf-16"), "encoded as UTF-16"
    return b"\xef\xbb\xbf" + data, "UTF-8 byte order mark"


@dataclass(frozen=True)
class FuzzCase:
    kind: str
    index: int
    data: bytes
    what: str  # the mutations applied, in order


def generate(kind: str, rng: random.Random, index: int = 0) -> FuzzCase:
    """One mutated file of ``kind``: one to three mutations of a random seed file."""
    text = rng.choice(seeds(kind))
    done: list[str] = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        mutation = rng.choice(TEXT_MUTATIONS)
        text, what = mutation(text, rng, kind)
        done.append(f"{mutation.__name__}: {what}")
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.15:
        data, what = _byte_mutation(data, rng)
        done.append(f"bytes: {what}")
    return FuzzCase(kind, index, data, "; ".join(done))


def corpus(kind: str, count: int, seed: int) -> list[FuzzCase]:
    """``count`` cases of ``kind``, the same for the same seed."""
    rng = random.Random(f"{kind}:{seed}")
    return [generate(kind, rng, i) for i in range(count)]
