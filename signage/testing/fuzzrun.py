"""Feed config files to the real loaders and classify what happens, with a per-file hang timer.

The only acceptable outcomes for any file are "ok" and "config_error" (a ``ConfigError`` with
at least one located finding). Anything else is a "traceback" (an exception of another type,
kept with its traceback) or a "hang" (the file was still loading after ``limit_s``: a timer
interrupts pure-Python loops; a file that only returns after the limit counts as a hang too).
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from signage.testing.fuzz import KINDS, REPO, FuzzCase
from signage.yamlconf import ConfigError, Finding

FILE_NAMES = {"settings": "signage.yaml", "catalog": "catalog.yaml", "rules": "rules.yaml"}
STATUSES = ("ok", "config_error", "traceback", "hang")


@dataclass(frozen=True)
class Outcome:
    case: FuzzCase
    status: str  # one of STATUSES
    seconds: float
    detail: str = ""  # the first finding, the traceback, or how long a hang ran
    findings: tuple[Finding, ...] = ()


class _Hang(BaseException):
    """Raised by the timer inside the loader; a BaseException, so no ``except Exception`` eats it."""


@contextmanager
def hang_timer(limit_s: float) -> Iterator[None]:
    """Interrupt the block after ``limit_s`` seconds (main thread only; elsewhere time is only measured)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _fire(signum: int, frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ConfigLoaders:
    """The loaders the player and the CLI use, each file kind through all of them."""

    def __init__(self) -> None:
        from signage.catalog import declared_catalog
        from signage.settings import PolicySettings

        self.catalog = declared_catalog(REPO / "ads" / "catalog.yaml")
        self.policy = PolicySettings()
        self.tz = ZoneInfo("Europe/Paris")

    def load(self, kind: str, path: Path) -> None:
        if kind == "settings":
            from signage.settings import load_settings

            load_settings(path)
        elif kind == "catalog":  # the player's two readers, `signage ads list`, the edit tree (ruamel)
            from signage.catalog import declared_catalog, load_catalog
            from signage.library.catalog_file import CatalogDocument
            from signage.library.library import list_ads

            load_catalog(path, probe=False)
            declared_catalog(path)
            list_ads(path)
            CatalogDocument.open(path).dump()
        elif kind == "rules":  # what the player and `signage rules check` do: parse, build, check
            from signage.targeting.checker import check_rules
            from signage.targeting.loader import build_ruleset, read_rule_file

            rules = build_ruleset([read_rule_file(path)], self.tz)
            check_rules(rules, self.catalog, self.policy)
        else:
            raise ValueError(f"unknown config kind {kind!r}; one of {', '.join(KINDS)}")


def run_case(loaders: ConfigLoaders, case: FuzzCase, folder: Path, limit_s: float = 5.0) -> Outcome:
    """Write ``case`` into ``folder`` under its usual file name and load it."""
    path = folder / FILE_NAMES[case.kind]
    path.write_bytes(case.data)
    started = time.perf_counter()
    findings: tuple[Finding, ...] = ()
    try:
        with hang_timer(limit_s):
            loaders.load(case.kind, path)
        status, detail = "ok", ""
    except ConfigError as exc:
        findings = exc.findings
        status, detail = "config_error", str(findings[0]) if findings else "(a ConfigError without findings)"
    except _Hang:
        status, detail = "hang", f"still loading after {limit_s:.0f} s"
    except Exception:  # what the fuzzer is for: anything else is a bug
        status, detail = "traceback", traceback.format_exc()
    seconds = time.perf_counter() - started
    if seconds > limit_s and status != "hang":
        status, detail = (
            "hang",
            f"took {seconds:.1f} s (then: {detail.splitlines()[0] if detail else status})",
        )
    return Outcome(case, status, seconds, detail, findings)


@dataclass(frozen=True)
class KindSummary:
    kind: str
    files: int
    counts: dict[str, int]
    max_s: float


def summarize(outcomes: Iterable[Outcome]) -> list[KindSummary]:
    by_kind: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_kind.setdefault(outcome.case.kind, []).append(outcome)
    return [
        KindSummary(
            kind,
            len(items),
            {s: sum(o.status == s for o in items) for s in STATUSES},
            max(o.seconds for o in items),
        )
        for kind, items in by_kind.items()
    ]
