"""Hot reload: the player asks for the current rules once per slot; changed files are swapped in.

A changed file is re-read, validated and compiled; a good one replaces the rules in force at the
next slot, a bad one leaves the last good rules in force and is reported once (log and status),
so a typo in a rule file never stops playback.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.targeting.loader import build_ruleset, parse_rule_text
from signage.targeting.ruleset import RuleSet
from signage.yamlconf import ConfigError, Finding

log = logging.getLogger(__name__)

_Stamp = tuple[int, int] | None  # (mtime_ns, size); None: the file is missing


@dataclass(frozen=True)
class RulesStatus:
    """What the dashboard shows about the rule files."""

    valid: bool
    error: str  # one sentence, FILE:LINE:COLUMN first; empty when valid
    rules: int  # enabled rules in force
    files: tuple[str, ...]
    loaded_at_mono: float | None  # when the rules in force were loaded (None: never)
    checked_at_mono: float | None


class RulesHolder:
    """Keeps the last good RuleSet of ``paths`` and reloads it when any file changes.

    Call ``current(time.monotonic())`` once per slot from the loop's thread; it stats the files
    (at most every ``check_interval_s``), and re-reads only when a stamp or the content hash changed.
    """

    def __init__(self, paths: Sequence[Path], tz: ZoneInfo, check_interval_s: float = 1.0) -> None:
        self.paths = tuple(paths)
        self.tz = tz
        self.check_interval_s = check_interval_s
        self._rules = RuleSet(tz=tz, files=tuple(str(p) for p in self.paths))
        self._stamps: tuple[_Stamp, ...] | None = None
        self._digest: str | None = None
        self._reported: str | None = None
        self._checked_at: float | None = None
        self._status = RulesStatus(False, "rules not loaded yet", 0, self._rules.files, None, None)

    @property
    def status(self) -> RulesStatus:
        return self._status

    def current(self, now_mono: float) -> RuleSet:
        if self._checked_at is not None and now_mono - self._checked_at < self.check_interval_s:
            return self._rules
        self._checked_at = now_mono
        stamps = tuple(self._stamp(p) for p in self.paths)
        if stamps != self._stamps:
            self._stamps = stamps
            self._reload(now_mono)
        else:
            self._status = _replace_checked(self._status, now_mono)
        return self._rules

    @staticmethod
    def _stamp(path: Path) -> _Stamp:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _reload(self, now_mono: float) -> None:
        texts: list[tuple[str, str]] = []
        findings: list[Finding] = []
        for path in self.paths:
            try:
                texts.append((str(path), path.read_bytes().decode("utf-8")))
            except FileNotFoundError:
                findings.append(Finding(str(path), 1, 1, "", "rule file not found"))
            except UnicodeDecodeError:
                findings.append(Finding(str(path), 1, 1, "", "rule file is not UTF-8 text"))
            except OSError as exc:
                findings.append(Finding(str(path), 1, 1, "", f"cannot read rule file: {exc.strerror}"))
        digest = hashlib.sha256(repr(texts).encode()).hexdigest()
        if not findings and digest == self._digest:
            return  # touched but unchanged: keep the compiled rules and their caches
        try:
            if findings:
                raise ConfigError(findings)
            parts = [parse_rule_text(text, file) for file, text in texts]
            rules = build_ruleset(parts, self.tz)
        except ConfigError as exc:
            self._fail(exc.findings, digest, now_mono)
            return
        self._rules, self._digest, self._reported = rules, digest, None
        log.info("rules loaded: %d rule(s) from %s", len(rules.rules), ", ".join(rules.files))
        self._status = RulesStatus(True, "", len(rules.rules), rules.files, now_mono, now_mono)

    def _fail(self, findings: Sequence[Finding], digest: str, now_mono: float) -> None:
        first = findings[0]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        error = f"{first.file}:{first.line}:{first.column}: {first.message}{more}"
        if self._reported != digest:  # report each bad version once, not at every slot
            self._reported = digest
            kept = "the last good rules stay in force" if self._status.loaded_at_mono else "no rules in force"
            log.error("rule files rejected, %s: %s", kept, error)
        self._status = RulesStatus(
            False,
            error,
            len(self._rules.rules),
            self._rules.files,
            self._status.loaded_at_mono,
            now_mono,
        )


def _replace_checked(status: RulesStatus, now_mono: float) -> RulesStatus:
    return RulesStatus(
        status.valid, status.error, status.rules, status.files, status.loaded_at_mono, now_mono
    )
