"""The soak bench's faults: what each one breaks, how it is undone, and when it happens in a run.

Each fault is injected and later undone while the player runs, so the report can tell whether
the player came back by itself. Hold times are given for a 60-minute run and scale with the
run's length, down to a floor below which the fault could not be noticed at all (a rule file
is re-read at the next decision, a camera file only when its loop restarts...).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from signage.testing.cut_proxy import CutProxy


@dataclass(frozen=True)
class FaultSpec:
    name: str
    kind: str  # camera | catalog | rules | media | disk | db | kill | segment
    base_hold_s: float  # how long it stays injected in a 60-minute run
    floor_s: float  # never shorter than this
    what: str
    needs: frozenset[str] = frozenset()  # "postgres", "mount"


def _spec(name: str, kind: str, hold: float, floor: float, what: str, *needs: str) -> FaultSpec:
    return FaultSpec(name, kind, hold, floor, what, frozenset(needs))


KILL = _spec("kill9", "kill", 2, 2, "kill -9 of the player, restarted 2 s later")
MAIN_FAULTS = (
    _spec("camera_rename", "camera", 120, 25, "the camera video file renamed away, then back"),
    _spec("catalog_syntax", "catalog", 60, 10, "catalog.yaml with a YAML syntax error, then restored"),
    _spec("rules_date", "rules", 60, 20, "a rule with the impossible date 2026-02-30, then restored"),
    _spec("video_truncate", "media", 180, 30, "every catalog video truncated to a quarter, then restored"),
    _spec("catalog_date", "catalog", 60, 10, "an ad with valid_from 2026-02-30, then restored"),
    _spec("rules_syntax", "rules", 60, 20, "a rule file with a YAML syntax error, then restored"),
    _spec(
        "disk_full",
        "disk",
        120,
        20,
        "the data dir's file system filled to the last byte, then freed",
        "mount",
    ),
    _spec("catalog_loop", "catalog", 60, 10, "catalog.yaml with a self-referencing alias, then restored"),
    _spec("rules_loop", "rules", 60, 20, "a rule file with a self-referencing alias, then restored"),
    _spec(
        "db_away",
        "db",
        600,
        45,
        "the database proxy cuts and refuses every connection, then forwards again",
        "postgres",
    ),
    _spec("catalog_bomb", "catalog", 60, 10, "catalog.yaml with a 9^9 alias bomb (500 bytes), then restored"),
    _spec(
        "disk_full_db_away",
        "disk",
        120,
        30,
        "the data dir full AND the database away, then both back",
        "mount",
        "postgres",
    ),
    _spec("rules_bomb", "rules", 60, 20, "a rule file with a 9^9 alias bomb (500 bytes), then restored"),
)
RTSP = _spec(
    "rtsp", "segment", 180, 45, "a separate player with camera.source rtsp://127.0.0.1:<closed port>/x"
)
DB_DOWN = _spec(
    "db_down_until_stop",
    "segment",
    240,
    60,
    "a separate player: the database away until a normal stop, then a start that replays",
    "postgres",
)
GROUPS = {
    "catalog": [s.name for s in MAIN_FAULTS if s.kind == "catalog"],
    "rules": [s.name for s in MAIN_FAULTS if s.kind == "rules"],
    "disk": ["disk_full", "disk_full_db_away"],
    "db": ["db_away", "disk_full_db_away", "db_down_until_stop"],
}
ALL_NAMES = [s.name for s in MAIN_FAULTS] + [KILL.name, RTSP.name, DB_DOWN.name]
GAP_FLOOR_S = 20.0  # after each fault is undone: time to see the player play (and store) again


def select(text: str) -> list[str]:
    """Names from ``--faults`` (all, none, or a comma list of names and groups); ValueError if unknown."""
    if text.strip() == "all":
        return list(ALL_NAMES)
    if text.strip() == "none":
        return []
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        names = GROUPS.get(part, [part])
        for name in names:
            if name not in ALL_NAMES:
                raise ValueError(
                    f"unknown fault {name!r}; known: {', '.join(ALL_NAMES)}, groups: {', '.join(GROUPS)}"
                )
            if name not in chosen:
                chosen.append(name)
    return chosen


@dataclass(frozen=True)
class Planned:
    spec: FaultSpec
    label: str  # the name, numbered for kills: kill9#2
    inject_at: float  # seconds after the main segment started
    undo_at: float


@dataclass(frozen=True)
class Plan:
    warmup_s: float
    main_s: float
    items: tuple[Planned, ...]
    rtsp_s: float  # 0: not in the plan
    final_s: float
    notes: tuple[str, ...]

    @property
    def total_s(self) -> float:
        # Each extra segment also starts a player (~15 s) and the final one starts a second to replay.
        return (
            self.main_s
            + (self.rtsp_s + 15 if self.rtsp_s else 0)
            + (self.final_s + 60 if self.final_s else 0)
        )


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def make_plan(names: list[str], minutes: float, kills: int, skipped: dict[str, str]) -> Plan:
    """Spread the chosen main-segment faults evenly over the run; ``skipped`` names those that cannot run."""
    total = minutes * 60.0
    notes = [f"{name} skipped: {why}" for name, why in skipped.items() if name in names]
    chosen = [s for s in MAIN_FAULTS if s.name in names and s.name not in skipped]
    n_kills = kills if KILL.name in names else 0
    order: list[tuple[FaultSpec, str]] = [(s, s.name) for s in chosen]
    for k in range(n_kills):  # kills spread between the other faults
        position = round((k + 1) * len(chosen) / (n_kills + 1)) + k
        order.insert(position, (KILL, f"kill9#{k + 1}"))
    scale = minutes / 60.0
    rtsp = _clamp(RTSP.base_hold_s * scale, RTSP.floor_s, RTSP.base_hold_s) if "rtsp" in names else 0.0
    final = 0.0
    if DB_DOWN.name in names and DB_DOWN.name not in skipped:
        final = _clamp(DB_DOWN.base_hold_s * scale, DB_DOWN.floor_s, DB_DOWN.base_hold_s)
    main = total - (rtsp + 15 if rtsp else 0) - (final + 60 if final else 0)
    warmup = _clamp(0.04 * main, 30, 120)
    holds = [max(spec.floor_s, spec.base_hold_s * scale) for spec, _ in order]
    gap = (main - warmup - sum(holds)) / len(order) if order else 0.0
    if order and gap < GAP_FLOOR_S:
        gap = GAP_FLOOR_S
        needed = warmup + sum(holds) + gap * len(order)
        notes.append(
            f"{len(order)} faults need at least {needed / 60:.1f} min in the main segment"
            f" ({main / 60:.1f} min left of --minutes {minutes:g}): the run is longer than asked"
        )
        main = needed
    if not order:
        main = max(main, warmup)
    items, at = [], warmup
    for (spec, label), hold in zip(order, holds, strict=True):
        items.append(Planned(spec, label, at, at + hold))
        at += hold + gap
    return Plan(warmup, main, tuple(items), rtsp, final, tuple(notes))


# -- broken files -------------------------------------------------------------------------------

_BOMB = "".join(
    f"soak_{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9 if i else ["lol"] * 9) + "]\n"
    for i in range(9)
)  # 9 levels of 9 aliases: 387 million strings once expanded, 0.4 kB on disk
_LOOP = "soak_loop: &loop [*loop]\n"


def _list_last(text: str, list_key: str) -> str:
    """The document re-dumped in PyYAML's block style with ``list_key`` last, ready to append to."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get(list_key), list):
        raise ValueError(f"expected a mapping with a {list_key!r} list")
    ordered = {k: v for k, v in data.items() if k != list_key}
    ordered[list_key] = data[list_key]
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True)


def broken_text(original: str, kind: str, variant: str) -> str:
    """``original`` (catalog or rule file) broken the ``variant`` way: syntax, date, loop or bomb."""
    key = "ads" if kind == "catalog" else "rules"
    base = _list_last(original, key)
    if variant == "syntax":
        return base + "- id: soak-broken\n  title: [unclosed\n"
    if variant == "date":
        data = yaml.safe_load(original)
        if kind == "catalog":
            entry = {**data["ads"][0], "id": "soak-impossible-date", "valid_from": "@DATE@"}
        else:
            entry = {
                "id": "soak-impossible-date",
                "tier": 5,
                "dates": [{"from": "@DATE@"}],
                "play": {"subjects": ["travel"]},
            }
        return base + yaml.safe_dump([entry], sort_keys=False).replace("'@DATE@'", "2026-02-30")
    if variant == "loop":
        return base + _LOOP
    if variant == "bomb":
        return base + _BOMB
    raise ValueError(f"unknown variant {variant!r}")


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.soak-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# -- the data dir's file system -----------------------------------------------------------------


def try_mount_tmpfs(path: Path, size_mb: int) -> str:
    """Mount a ``size_mb`` tmpfs on ``path``; "" on success, else why not."""
    if os.geteuid() != 0:
        return "not root, so no small file system can be mounted for the data dir"
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "soak-data", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return f"mount -t tmpfs failed: {result.stderr.strip() or result.returncode}"
    return ""


def unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path) -> int:
    """Write a file in ``folder`` until its file system has no byte left; returns the bytes written."""
    written = 0
    with (folder / "soak-fill.bin").open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            while True:
                try:
                    n = out.write(block)
                except OSError as exc:
                    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                        raise
                    break
                written += n or 0
    return written


def free(folder: Path) -> None:
    (folder / "soak-fill.bin").unlink(missing_ok=True)


def closed_port() -> int:
    """A local TCP port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- injecting and undoing ----------------------------------------------------------------------


class FaultActions:
    """Does and undoes the file, disk and network faults (kills are the runner's: they need the process)."""

    def __init__(
        self,
        *,
        camera: Path,
        catalog: Path,
        rules: Path,
        media: Path,
        originals: Path,
        data_dir: Path,
        proxy: CutProxy | None,
    ) -> None:
        self.camera, self.catalog, self.rules = camera, catalog, rules
        self.media, self.originals, self.data_dir, self.proxy = media, originals, data_dir, proxy
        self._text = {"catalog": catalog.read_text(), "rules": rules.read_text()}
        self.videos = sorted(media.glob("*.mp4"))
        originals.mkdir(parents=True, exist_ok=True)
        for video in self.videos:
            shutil.copy2(video, originals / video.name)
        self.filled_bytes = 0

    def check_broken_files(self) -> None:
        """Each broken variant really is broken the intended way (the bench's own sanity check)."""
        for kind in ("catalog", "rules"):
            for variant in ("syntax", "date"):
                text = broken_text(self._text[kind], kind, variant)
                with contextlib.suppress(yaml.YAMLError, ValueError):
                    yaml.safe_load(text)
                    raise AssertionError(f"the {kind} {variant} variant parses; the bench is wrong")

    def inject(self, spec: FaultSpec) -> str:
        """Break it; returns a short note for the progress line."""
        kind, variant = spec.kind, spec.name.split("_", 1)[-1]
        if kind == "camera":
            os.replace(self.camera, self.camera.with_name(self.camera.name + ".away"))
            return f"{self.camera.name} -> {self.camera.name}.away"
        if kind in ("catalog", "rules"):
            path = self.catalog if kind == "catalog" else self.rules
            write_atomically(path, broken_text(self._text[kind], kind, variant).encode())
            return f"{path.name} broken ({variant})"
        if kind == "media":
            for video in self.videos:
                data = (self.originals / video.name).read_bytes()
                write_atomically(video, data[: len(data) // 4])
            return f"{len(self.videos)} videos truncated to 1/4"
        if kind == "disk":
            self.filled_bytes = fill(self.data_dir)
            free_bytes = shutil.disk_usage(self.data_dir).free
            note = f"data dir filled with {self.filled_bytes / 1e6:.1f} MB ({free_bytes} bytes free)"
            if spec.name == "disk_full_db_away" and self.proxy is not None:
                self.proxy.sever()
                note += ", database cut"
            return note
        if kind == "db":
            assert self.proxy is not None
            self.proxy.sever()
            return "database proxy cut"
        raise ValueError(f"{spec.name} is not injected by FaultActions")

    def undo(self, spec: FaultSpec) -> str:
        kind = spec.kind
        if kind == "camera":
            os.replace(self.camera.with_name(self.camera.name + ".away"), self.camera)
            return f"{self.camera.name} back"
        if kind in ("catalog", "rules"):
            path = self.catalog if kind == "catalog" else self.rules
            write_atomically(path, self._text[kind].encode())
            return f"{path.name} restored"
        if kind == "media":
            for video in self.videos:
                write_atomically(video, (self.originals / video.name).read_bytes())
            return "videos restored"
        if kind == "disk":
            if spec.name == "disk_full_db_away" and self.proxy is not None:
                self.proxy.restore()
            free(self.data_dir)
            return "data dir freed" + (", database back" if spec.name == "disk_full_db_away" else "")
        if kind == "db":
            assert self.proxy is not None
            self.proxy.restore()
            return "database proxy forwards again"
        raise ValueError(f"{spec.name} is not undone by FaultActions")

    def undo_all(self) -> None:
        """Best effort at the end or on an error: every file back, the disk freed, the proxy open."""
        away = self.camera.with_name(self.camera.name + ".away")
        if away.exists():
            os.replace(away, self.camera)
        write_atomically(self.catalog, self._text["catalog"].encode())
        write_atomically(self.rules, self._text["rules"].encode())
        for video in self.videos:
            write_atomically(video, (self.originals / video.name).read_bytes())
        free(self.data_dir)
        if self.proxy is not None:
            self.proxy.restore()
