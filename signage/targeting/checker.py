"""Warnings about a valid rule table: rules that can never fire, unknown names, competing rules.

Validation errors stop a file; these do not: the table still loads and plays, and the marketer
reads the warnings from ``signage rules check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from signage.domain import Ad, Catalog
from signage.settings import PolicySettings
from signage.targeting.model import AudienceSpec, DateRange, Group
from signage.targeting.rotation import is_restricted
from signage.targeting.ruleset import MINUTES_PER_DAY, CompiledRule, RuleSet
from signage.yamlconf import Finding

_ALL_DAYS = frozenset(range(7))


def _warn(rules: RuleSet, rule: CompiledRule, path: tuple[str | int, ...], message: str) -> Finding:
    return rules.documents[rule.file].finding(("rules", rule.index, *path), message, "warning")


def _covered(outer: Iterable[tuple[int, int]], inner: Iterable[tuple[int, int]]) -> bool:
    """Every minute of ``inner`` lies in ``outer`` (empty means all day)."""
    outer, inner = list(outer) or [(0, MINUTES_PER_DAY)], list(inner) or [(0, MINUTES_PER_DAY)]
    minutes: set[int] = set()
    for s, e in outer:
        minutes.update(range(s, e))
    return all(m in minutes for s, e in inner for m in range(s, e))


def _overlap(a: Iterable[tuple[int, int]], b: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    for s1, e1 in list(a) or [(0, MINUTES_PER_DAY)]:
        for s2, e2 in list(b) or [(0, MINUTES_PER_DAY)]:
            if max(s1, s2) < min(e1, e2):
                return max(s1, s2), min(e1, e2)
    return None


def _dates_covered(outer: tuple[DateRange, ...], inner: tuple[DateRange, ...]) -> bool:
    if not outer:
        return True
    if not inner:
        return False
    return all(
        any(
            (o.from_ is None or (i.from_ is not None and o.from_ <= i.from_))
            and (o.until is None or (i.until is not None and i.until <= o.until))
            for o in outer
        )
        for i in inner
    )


def _dates_overlap(a: tuple[DateRange, ...], b: tuple[DateRange, ...]) -> bool:
    full = (DateRange(),)
    return any(
        (x.from_ is None or y.until is None or x.from_ <= y.until)
        and (y.from_ is None or x.until is None or y.from_ <= x.until)
        for x in a or full
        for y in b or full
    )


def _audience_contradiction(spec: AudienceSpec) -> str | None:
    present = spec.present
    few = present is not None and present.max is not None and present.max < spec.people
    if few and spec.uses_person_attributes and present is not None:
        return f"it needs {spec.people} matching people but at most {present.max} present"
    watching = spec.watching
    if (
        watching is not None
        and present is not None
        and present.max is not None
        and watching.min > present.max
    ):
        return f"it needs {watching.min} watching but at most {present.max} present"
    sizes = {
        Group.SOLO: (1, 1),
        Group.COUPLE: (2, 2),
        Group.ADULT_WITH_CHILD: (2, None),
        Group.CROWD: (3, None),
    }
    if spec.group is not None:
        low, high = sizes[spec.group]
        if present is not None and (
            (present.max is not None and present.max < low) or (high is not None and present.min > high)
        ):
            return f"group {spec.group.value} never has {present.min}-{present.max or 'any'} people present"
        if high is not None and spec.uses_person_attributes and spec.people > high:
            return f"group {spec.group.value} cannot hold {spec.people} matching people"
    return None


def _weekdays_in(ranges: tuple[DateRange, ...]) -> frozenset[int] | None:
    """The weekdays the date ranges can fall on, when they are all short enough to enumerate."""
    if not ranges:
        return None
    days: set[int] = set()
    for r in ranges:
        if r.from_ is None or r.until is None or (r.until - r.from_).days >= 7:
            return None
        days.update((r.from_ + timedelta(days=n)).weekday() for n in range((r.until - r.from_).days + 1))
    return frozenset(days)


def _valid_within(ad: Ad, ranges: tuple[DateRange, ...]) -> bool:
    for r in ranges or (DateRange(),):
        start = max(filter(None, (ad.valid_from, r.from_)), default=date.min)
        end = min(filter(None, (ad.valid_until, r.until)), default=date.max)
        if start <= end:
            return True
    return False


class _Catalog:
    def __init__(self, catalog: Catalog, policy: PolicySettings) -> None:
        self.ads = {ad.ad_id: ad for ad in catalog.ads}
        self.campaigns = {ad.campaign for ad in catalog.ads}
        self.subjects = {s for ad in catalog.ads for s in ad.subjects}
        self.policy = policy

    def pool(self, rule: CompiledRule) -> list[Ad]:
        p = rule.play
        return [
            ad
            for ad in self.ads.values()
            if ad.ad_id in p.ads or ad.campaign in p.campaigns or set(ad.subjects) & set(p.subjects)
        ]


def _reference_warnings(rules: RuleSet, cat: _Catalog) -> list[Finding]:
    out: list[Finding] = []
    for rule in rules.rules:
        for kind, names, known, what in (
            ("ads", rule.play.ads, cat.ads, "no ad {!r} in the catalog"),
            (
                "campaigns",
                rule.play.campaigns,
                cat.campaigns,
                "no ad in the catalog belongs to campaign {!r}",
            ),
            ("subjects", rule.play.subjects, cat.subjects, "no ad in the catalog has subject {!r}"),
        ):
            for j, name in enumerate(names):
                if name not in known:
                    out.append(_warn(rules, rule, ("play", kind, j), what.format(name)))
    for file, spec in rules.specs.items():
        doc = rules.documents[file]
        for name in spec.caps.ads:
            if name not in cat.ads:
                out.append(doc.finding(("caps", "ads", name), f"cap for unknown ad {name!r}", "warning"))
        for name in spec.caps.campaigns:
            if name not in cat.campaigns:
                out.append(
                    doc.finding(("caps", "campaigns", name), f"cap for unknown campaign {name!r}", "warning")
                )
    return out


def _never_fires(rules: RuleSet, rule: CompiledRule, cat: _Catalog | None) -> str | None:
    if rule.audience is not None:
        why = _audience_contradiction(rule.audience)
        if why:
            return why
    on_dates = _weekdays_in(rule.dates)
    if on_dates is not None and rule.weekdays is not None and not on_dates & rule.weekdays:
        return "its dates never fall on its days"
    if cat is None:
        return None
    pool = cat.pool(rule)
    if not pool:
        return "none of the ads it names is in the catalog"
    if not any(_valid_within(ad, rule.dates) for ad in pool):
        return "none of its ads is valid on its dates"
    restricted = cat.policy.restricted_subjects
    with_child = rule.audience is not None and rule.audience.group is Group.ADULT_WITH_CHILD
    if with_child and all(is_restricted(ad, restricted) for ad in pool):
        return "all its ads are restricted, and restricted ads never play with a possible minor present"
    return None


def _always_has_ad(rules: RuleSet, rule: CompiledRule, cat: _Catalog) -> bool:
    """No cap can ever exclude its ads and it has an unrestricted ad valid on every date."""
    if rule.caps is not None:
        return False
    caps = rules.caps
    free = [
        ad
        for ad in cat.pool(rule)
        if not is_restricted(ad, cat.policy.restricted_subjects)
        and ad.valid_from is None
        and ad.valid_until is None
        and caps.every_ad is None
        and caps.every_campaign is None
        and ad.ad_id not in caps.ads
        and ad.campaign not in caps.campaigns
    ]
    return len(free) >= (2 if rule.min_gap_s > 0 else 1)


def _covers(a: CompiledRule, b: CompiledRule) -> bool:
    """Whenever ``b`` matches, ``a`` matches too."""
    if a.weekdays is not None and (b.weekdays is None or not b.weekdays <= a.weekdays):
        return False
    if a.windows and not _covered(a.windows, b.windows):
        return False
    if not _dates_covered(a.dates, b.dates):
        return False
    if a.audience is None:
        return True
    return a.audience == b.audience and a.min_confidence <= b.min_confidence


def _competition(rules: RuleSet, a: CompiledRule, b: CompiledRule) -> str | None:
    if a.audience != b.audience or a.play == b.play:
        return None
    if not (a.weekdays or _ALL_DAYS) & (b.weekdays or _ALL_DAYS) or not _dates_overlap(a.dates, b.dates):
        return None
    window = _overlap(a.windows, b.windows)
    if window is None:
        return None
    s, e = window
    when = f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"
    return (
        f"rule {b.rule_id!r} competes with rule {a.rule_id!r} (same tier {a.tier}, same audience) "
        f"around {when}; they share airtime by weight {b.weight:g}:{a.weight:g}"
    )


def check_rules(rules: RuleSet, catalog: Catalog | None, policy: PolicySettings) -> list[Finding]:
    """Warnings for a loaded rule set, ordered by file and line."""
    cat = _Catalog(catalog, policy) if catalog is not None else None
    out: list[Finding] = _reference_warnings(rules, cat) if cat is not None else []
    for rule in rules.rules:
        why = _never_fires(rules, rule, cat)
        if why:
            out.append(_warn(rules, rule, ("id",), f"rule {rule.rule_id!r} can never fire: {why}"))
    ordered = sorted(rules.rules, key=lambda r: -r.tier)
    for i, b in enumerate(ordered):
        for a in ordered[:i]:
            if a.tier > b.tier and cat is not None and _covers(a, b) and _always_has_ad(rules, a, cat):
                msg = (
                    f"rule {b.rule_id!r} can never fire: rule {a.rule_id!r} (tier {a.tier}) matches "
                    f"whenever it does and always has an ad to play"
                )
                out.append(_warn(rules, b, ("tier",), msg))
                break
        for a in ordered[:i]:
            competing = _competition(rules, a, b) if a.tier == b.tier else None
            if competing:
                out.append(_warn(rules, b, ("id",), competing))
    return sorted(out, key=lambda f: (f.file, f.line, f.column))
