"""The rules in force: rule files read, validated and compiled into one RuleSet.

``rules_reloader`` wraps ``read_rules`` in the shared keep-the-last-good-file mechanism
(``signage.reloader``): a good change replaces the rules in force at the next slot, a bad one
leaves the last good rules in force and is reported once (log and heartbeat), so a typo in a rule
file never stops playback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.reloader import Reloader
from signage.targeting.loader import build_ruleset, parse_rule_text
from signage.targeting.ruleset import RuleSet
from signage.yamlconf import ConfigError, Finding


def read_rules(paths: Sequence[Path], tz: ZoneInfo, estimate_emotion: bool = True) -> RuleSet:
    """Read, validate and compile ``paths`` as one rule table; every problem raises a located ConfigError."""
    texts: list[tuple[str, str]] = []
    findings: list[Finding] = []
    for path in paths:
        try:
            texts.append((str(path), path.read_bytes().decode("utf-8")))
        except FileNotFoundError:
            findings.append(Finding(str(path), 1, 1, "", "rule file not found"))
        except UnicodeDecodeError:
            findings.append(Finding(str(path), 1, 1, "", "rule file is not UTF-8 text"))
        except OSError as exc:
            findings.append(Finding(str(path), 1, 1, "", f"cannot read rule file: {exc.strerror}"))
    if findings:
        raise ConfigError(findings)
    return build_ruleset([parse_rule_text(text, file) for file, text in texts], tz, estimate_emotion)


def rules_reloader(
    paths: Sequence[Path], tz: ZoneInfo, clock: Callable[[], float], estimate_emotion: bool = True
) -> Reloader[RuleSet]:
    """The rules of ``paths``, kept at their last good version; empty (no rules) until one loads.

    ``estimate_emotion`` False refuses every rule file that names an emotion (a located error).
    """
    return Reloader(
        "rules",
        paths,
        lambda: read_rules(paths, tz, estimate_emotion),
        empty=RuleSet(tz=tz, files=tuple(str(p) for p in paths)),
        clock=clock,
        describe=lambda rules: f"{len(rules.rules)} rule(s) from {', '.join(rules.files)}",
    )
