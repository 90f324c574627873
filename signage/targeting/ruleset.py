"""A validated rule table compiled for fast decisions.

Compilation happens once per load: windows become minute intervals, rules are grouped by tier
(highest first), and the moments where the set of time-active rules can change are collected,
so that a decision looks up "which rules are on now" with one bisect and a cache hit.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from signage.targeting.model import (
    DAY_NAMES,
    AudienceSpec,
    DateRange,
    Fallback,
    GlobalCaps,
    Limits,
    PlaySpec,
    Rule,
    RuleCaps,
    RuleFile,
    parse_window,
)
from signage.yamlconf import LocatedDocument

MINUTES_PER_DAY = 1440


def split_window(start: int, end: int) -> list[tuple[int, int]]:
    """A window as half-open minute intervals that do not cross midnight."""
    if end > start:
        return [(start, end)]
    return [(start, MINUTES_PER_DAY), (0, end)] if end else [(start, MINUTES_PER_DAY)]


@dataclass(frozen=True)
class CompiledRule:
    rule_id: str
    description: str
    tier: int
    weight: float
    audience: AudienceSpec | None  # None: anyone, including an unknown audience
    min_confidence: float
    weekdays: frozenset[int] | None  # None: every day
    windows: tuple[tuple[int, int], ...]  # empty: all day
    window_labels: tuple[str, ...]  # how the marketer wrote them, for reasons
    dates: tuple[DateRange, ...]  # empty: any date
    play: PlaySpec
    caps: RuleCaps | None
    min_gap_s: float
    file: str
    index: int  # position in its file's ``rules`` list, for located warnings

    def on_day(self, weekday: int, day: date) -> bool:
        if self.weekdays is not None and weekday not in self.weekdays:
            return False
        return not self.dates or any(r.contains(day) for r in self.dates)

    def at_minute(self, minute: int) -> bool:
        return not self.windows or any(s <= minute < e for s, e in self.windows)

    def active(self, weekday: int, minute: int, day: date) -> bool:
        return self.on_day(weekday, day) and self.at_minute(minute)


def compile_rule(
    rule: Rule, spec: RuleFile, file: str, index: int, shared: dict[AudienceSpec, AudienceSpec] | None = None
) -> CompiledRule:
    """``shared`` interns equal audience specs, so a decision evaluates each distinct one once."""
    weekdays: set[int] = set()
    for name in rule.days:
        weekdays.update(DAY_NAMES[name.lower()])
    labels: list[str] = []
    windows: list[tuple[int, int]] = []
    for name in rule.dayparts:
        for text in spec.dayparts[name]:
            windows.extend(split_window(*parse_window(text)))
        labels.append(f"{name} ({', '.join(spec.dayparts[name])})")
    for text in rule.times:
        windows.extend(split_window(*parse_window(text)))
        labels.append(text)
    audience = rule.audience if rule.audience is not None and not rule.audience.is_empty else None
    if audience is not None and shared is not None:
        audience = shared.setdefault(audience, audience)
    conf = spec.defaults.min_confidence
    if audience is not None and audience.min_confidence is not None:
        conf = audience.min_confidence
    return CompiledRule(
        rule_id=rule.id,
        description=rule.description,
        tier=rule.tier,
        weight=rule.weight,
        audience=audience,
        min_confidence=conf,
        weekdays=frozenset(weekdays) if weekdays and len(weekdays) < 7 else None,
        windows=tuple(sorted(set(windows))),
        window_labels=tuple(labels),
        dates=rule.dates,
        play=rule.play,
        caps=rule.caps,
        min_gap_s=spec.defaults.min_gap_s if rule.min_gap_s is None else rule.min_gap_s,
        file=file,
        index=index,
    )


@dataclass(frozen=True)
class Tier:
    tier: int
    rules: tuple[CompiledRule, ...]


@dataclass
class RuleSet:
    """Every enabled rule of one or more files, plus the table-wide caps, gap and fallback.

    Treat as immutable: the only mutable parts are caches that never change a result.
    """

    rules: tuple[CompiledRule, ...] = ()
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    caps: GlobalCaps = field(default_factory=GlobalCaps)
    fallback: Fallback = field(default_factory=Fallback)
    default_min_gap_s: float = 0.0
    files: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    documents: Mapping[str, LocatedDocument] = field(default_factory=dict)
    specs: Mapping[str, RuleFile] = field(default_factory=dict)
    _boundaries: list[int] = field(default_factory=list, repr=False)
    _active: dict[tuple[date, int], tuple[Tier, ...]] = field(default_factory=dict, repr=False)
    # Derived per catalog (see signage.targeting.index); set by ``index_for``.
    _index_cache: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        edges = {0}
        for rule in self.rules:
            for start, end in rule.windows:
                edges.add(start)
                edges.add(end % MINUTES_PER_DAY)
        self._boundaries = sorted(edges)

    @property
    def cache_entries(self) -> int:
        """How many (date, time segment) answers are cached."""
        return len(self._active)

    def by_id(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def active_tiers(self, weekday: int, minute: int, day: date) -> tuple[Tier, ...]:
        """The rules whose days, dates and windows include this store-local moment, by tier (highest first).

        Within one day the answer only changes at a window edge, so it is cached per (date, segment).
        """
        segment = bisect.bisect_right(self._boundaries, minute) - 1
        key = (day, segment)
        hit = self._active.get(key)
        if hit is not None:
            return hit
        by_tier: dict[int, list[CompiledRule]] = {}
        for rule in self.rules:
            if rule.active(weekday, minute, day):
                by_tier.setdefault(rule.tier, []).append(rule)
        tiers = tuple(Tier(t, tuple(by_tier[t])) for t in sorted(by_tier, reverse=True))
        if len(self._active) > 4096:  # a long-running player crosses many days
            self._active.clear()
        self._active[key] = tiers
        return tiers


def merge_limits(*limits: Limits | None) -> tuple[Limits, ...]:
    return tuple(lim for lim in limits if lim is not None)
