"""Properties of decide() over random catalogs, rule tables, audiences and days (hypothesis)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from targeting_helpers import NOBODY, PARIS, POLICY, UNKNOWN, ad, catalog, crowd, person

from signage.domain import Ad, AudienceSnapshot, Catalog, PlayRecord
from signage.targeting.decide import explain
from signage.targeting.history import PlayHistory
from signage.targeting.loader import build_ruleset, parse_rule_text
from signage.targeting.model import Limits
from signage.targeting.rotation import is_restricted
from signage.targeting.ruleset import RuleSet

SUBJECTS = ["food", "drinks", "alcohol", "beauty", "kids"]
CAMPAIGNS = ["c1", "c2", "c3"]
DAY = date(2026, 11, 20)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    n = draw(st.integers(1, 7))
    ads = []
    for i in range(n):
        ads.append(
            ad(
                f"a{i}",
                draw(st.sampled_from(CAMPAIGNS)),
                tuple(draw(st.lists(st.sampled_from(SUBJECTS), max_size=2, unique=True))),
                restricted=draw(st.booleans()) and draw(st.booleans()),
                weight=draw(st.sampled_from([0.5, 1.0, 3.0])),
                valid_until=draw(st.sampled_from([None, None, None, DAY - timedelta(days=1)])),
                duration_s=draw(st.sampled_from([5.0, 10.0, 30.0])),
            )
        )
    return catalog(*ads)


_limits = st.fixed_dictionaries(
    {}, optional={"per_hour": st.integers(0, 6), "per_day": st.integers(0, 40)}
).filter(bool)


@st.composite
def tables(draw: st.DrawFn) -> RuleSet:
    rules = []
    for i in range(draw(st.integers(0, 5))):
        rule: dict[str, object] = {
            "id": f"r{i}",
            "tier": draw(st.integers(0, 3)),
            "weight": draw(st.sampled_from([1, 2])),
        }
        rule["play"] = draw(
            st.sampled_from(
                [{"subjects": [s]} for s in SUBJECTS]
                + [{"campaigns": [c]} for c in CAMPAIGNS]
                + [{"ads": ["a0", "a1"]}]
            )
        )
        audience = draw(
            st.sampled_from([None, {"gender": "female"}, {"age": ["25-34", "35-44"]}, {"present": {"min": 2}},
                             {"group": "adult-with-child"}, {"watching": {"min": 1}}])
        )  # fmt: skip
        if audience:
            rule["audience"] = audience
        window = draw(st.sampled_from([None, "07:00-12:00", "11:00-15:00", "20:00-02:00"]))
        if window:
            rule["times"] = [window]
        caps = draw(st.fixed_dictionaries({}, optional={"ad": _limits, "campaign": _limits}))
        if caps:
            rule["caps"] = caps
        if draw(st.booleans()):
            rule["min_gap_s"] = draw(st.sampled_from([0, 300, 1800]))
        rules.append(rule)
    doc: dict[str, object] = {"rules": rules}
    doc["caps"] = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "every_ad": _limits,
                "every_campaign": _limits,
                "ads": st.dictionaries(st.sampled_from(["a0", "a1", "a2"]), _limits, max_size=2),
                "campaigns": st.dictionaries(st.sampled_from(CAMPAIGNS), _limits, max_size=2),
            },
        )
    )
    doc["defaults"] = {"min_gap_s": draw(st.sampled_from([0, 60, 900]))}
    return build_ruleset([parse_rule_text(yaml.safe_dump(doc), "gen.yaml")], PARIS)


_PEOPLE = [
    person(30, 0.9),
    person(40, 0.1, watching=False),
    person(70, 0.8),
    person(9, minor=True),
    person(16, 0.4, minor=True),
    person(None, None),
]
audiences = st.one_of(
    st.just(UNKNOWN),
    st.just(NOBODY),
    st.lists(st.sampled_from(_PEOPLE), min_size=1, max_size=4).map(lambda ps: crowd(*ps)),
)


def run_day(
    rules: RuleSet, cat: Catalog, seed: int, audience_seed: int
) -> list[tuple[datetime, str | None, str]]:
    """Decisions every few minutes over one store-local day; plays are appended to the history."""
    rng = random.Random(seed)
    pick_audience = random.Random(audience_seed)
    pool = [UNKNOWN, NOBODY, crowd(_PEOPLE[0]), crowd(_PEOPLE[0], _PEOPLE[3]), crowd(_PEOPLE[1], _PEOPLE[2])]
    history = PlayHistory()
    now = datetime(2026, 11, 20, 0, 0, tzinfo=PARIS)
    out = []
    while now.date() == DAY:
        decision = explain(pick_audience.choice(pool), cat, rules, history, now, rng, POLICY).decision
        out.append((now, decision.ad.ad_id if decision.ad else None, decision.rule))
        if decision.ad is not None:
            history.append(PlayRecord(decision.ad.ad_id, decision.ad.campaign, now))
        now += timedelta(minutes=pick_audience.choice([2, 5, 9]))
    return out


def _limits_for(
    rules: RuleSet, cat: Catalog, ad_id: str, rule_id: str
) -> tuple[Ad, list[Limits], list[Limits]]:
    a = next(x for x in cat.ads if x.ad_id == ad_id)
    caps = rules.caps
    rule = rules.by_id(rule_id)
    rule_caps = rule.caps if rule is not None else None
    ad_limits = [caps.every_ad, caps.ads.get(ad_id), rule_caps.ad if rule_caps else None]
    campaign_limits = [
        caps.every_campaign,
        caps.campaigns.get(a.campaign),
        rule_caps.campaign if rule_caps else None,
    ]
    return a, [x for x in ad_limits if x], [x for x in campaign_limits if x]


def _caps_hold_over_a_day(rules: RuleSet, cat: Catalog, seed: int) -> None:
    plays = [(t, a, r) for t, a, r in run_day(rules, cat, seed, seed + 1) if a is not None]
    campaign_of = {x.ad_id: x.campaign for x in cat.ads}
    for i, (t, ad_id, rule_id) in enumerate(plays):
        _, ad_limits, campaign_limits = _limits_for(rules, cat, ad_id, rule_id)
        before = plays[:i]
        same_ad = [t0 for t0, a, _ in before if a == ad_id]
        same_campaign = [t0 for t0, a, _ in before if campaign_of[a] == campaign_of[ad_id]]
        for limits, times in ((ad_limits, same_ad), (campaign_limits, same_campaign)):
            hour = sum(1 for t0 in times if t - t0 < timedelta(hours=1))
            day = len(times)
            for lim in limits:
                assert lim.per_hour is None or hour < lim.per_hour, (t, ad_id, rule_id, lim)
                assert lim.per_day is None or day < lim.per_day, (t, ad_id, rule_id, lim)


_DAY_ARGS = (tables(), catalogs(), st.integers(0, 10**6))
test_caps_are_never_exceeded_over_a_day = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)(given(*_DAY_ARGS)(_caps_hold_over_a_day))
test_caps_are_never_exceeded_over_many_days = pytest.mark.slow(
    settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])(
        given(*_DAY_ARGS)(_caps_hold_over_a_day)
    )
)


@FAST
@given(tables(), catalogs(), audiences, st.integers(0, 10**6))
def test_restricted_never_plays_with_a_possible_minor(
    rules: RuleSet, cat: Catalog, audience: AudienceSnapshot, seed: int
) -> None:
    now = datetime(2026, 11, 20, 21, 0, tzinfo=PARIS)
    decision = explain(audience, cat, rules, [], now, random.Random(seed), POLICY).decision
    for chosen in (decision.ad, decision.runner_up):
        if chosen is not None and is_restricted(chosen, POLICY.restricted_subjects):
            assert not audience.possible_minor_present


@FAST
@given(tables(), catalogs(), audiences, st.integers(0, 10**6), st.integers(0, 23))
def test_some_ad_is_chosen_whenever_one_is_eligible(
    rules: RuleSet, cat: Catalog, audience: AudienceSnapshot, seed: int, hour: int
) -> None:
    now = datetime(2026, 11, 20, hour, 0, tzinfo=PARIS)
    decision = explain(audience, cat, rules, [], now, random.Random(seed), POLICY).decision
    # With no history only a zero cap can exclude an ad.
    eligible = [
        a
        for a in cat.ads
        if a.is_valid_on(DAY)
        and not (audience.possible_minor_present and is_restricted(a, POLICY.restricted_subjects))
        and all(
            lim.per_hour != 0 and lim.per_day != 0
            for lim in _limits_for(rules, cat, a.ad_id, "")[1] + _limits_for(rules, cat, a.ad_id, "")[2]
        )
    ]
    if eligible:
        assert decision.ad is not None, decision.reason
    if decision.ad is not None:
        assert decision.ad.is_valid_on(DAY)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), catalogs(), st.integers(0, 10**6))
def test_same_seed_same_sequence(rules: RuleSet, cat: Catalog, seed: int) -> None:
    first = run_day(rules, cat, seed, 5)
    # A freshly compiled copy of the same table: caches must not change anything.
    again = build_ruleset(
        [(doc, spec) for doc, spec in zip(rules.documents.values(), rules.specs.values(), strict=True)], PARIS
    )
    assert run_day(again, cat, seed, 5) == first
