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
from signage.targeting.loader import build_ruleset, read_rule_file
from signage.targeting.ruleset import RuleSet


def read_rules(paths: Sequence[Path], tz: ZoneInfo, estimate_emotion: bool = True) -> RuleSet:
    """Read, validate and compile ``paths`` as one rule table; the first bad file raises its located ConfigError.

    The player's and the fleet agent's reading (``load_rules`` collects every file's errors instead);
    a file that cannot be read is named a "rule file" (``rule file not found``).
    """
    parts = [read_rule_file(path, "rule file") for path in paths]
    return build_ruleset(parts, tz, estimate_emotion)


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
