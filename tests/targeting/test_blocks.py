"""The cap and gap verdicts kept across decisions never change a decision, and PlayHistory's edits."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from targeting_helpers import NOBODY, PARIS, POLICY, UNKNOWN, ad, catalog, crowd, person, rules
from test_properties import catalogs, tables

from signage.domain import Catalog, PlayRecord
from signage.targeting.decide import Explanation, explain, index_for
from signage.targeting.history import PlayHistory
from signage.targeting.ruleset import RuleSet

AUDIENCES = [UNKNOWN, NOBODY, crowd(person(30, 0.9)), crowd(person(30, 0.9), person(9, minor=True))]


def _day(
    rules: RuleSet, cat: Catalog, seed: int, *, cached: bool, step_s: tuple[int, ...] = (10, 60, 300)
) -> list[Explanation]:
    """A store day of decisions; ``cached=False`` hands every decision a fresh copy of the history."""
    rng, pick = random.Random(seed), random.Random(seed + 1)
    history = PlayHistory()
    now = datetime(2026, 11, 20, 5, 0, tzinfo=PARIS)
    out = []
    while now < datetime(2026, 11, 21, 2, 0, tzinfo=PARIS):  # crosses midnight: per_day counts restart
        seen = history if cached else PlayHistory(list(history))
        e = explain(pick.choice(AUDIENCES), cat, rules, seen, now, rng, POLICY)
        out.append(e)
        if e.decision.ad is not None:
            history.append(PlayRecord(e.decision.ad.ad_id, e.decision.ad.campaign, now))
        now += timedelta(seconds=pick.choice(step_s))
    return out


CAPPED = """
defaults: {min_gap_s: 120}
caps:
  every_ad: {per_hour: 3}
  every_campaign: {per_day: 40}
  campaigns: {c1: {per_hour: 5}}
rules:
  - {id: top, tier: 5, play: {campaigns: [c1, c2]}, caps: {ad: {per_hour: 2}, campaign: {per_day: 25}}}
  - {id: mid, tier: 3, play: {ads: [a0, a1, a2]}, min_gap_s: 900}
  - {id: low, tier: 1, play: {subjects: [food]}, times: "07:00-12:00", caps: {campaign: {per_hour: 4}}}
"""
CAT = catalog(*(ad(f"a{i}", f"c{i % 3}", ("food",) if i % 2 else ()) for i in range(9)))


def test_cached_verdicts_equal_fresh_ones_over_a_capped_day() -> None:
    cached = _day(rules(CAPPED), CAT, 3, cached=True)
    fresh = _day(rules(CAPPED), CAT, 3, cached=False)
    assert cached == fresh
    assert any(e.bound for e in cached) and any(e.decision.ad is None or e.tier is None for e in cached)
    assert len(index_for(rules(CAPPED), CAT, POLICY).blocks) > 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), catalogs(), st.integers(0, 10**6))
def test_cached_verdicts_equal_fresh_ones(table: RuleSet, cat: Catalog, seed: int) -> None:
    assert _day(table, cat, seed, cached=True, step_s=(60, 180, 600)) == _day(
        table, cat, seed, cached=False, step_s=(60, 180, 600)
    )


def test_time_going_back_or_plays_after_now_are_judged_afresh() -> None:
    table = rules(CAPPED)
    history = PlayHistory()
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
    for i in range(3):
        history.append(PlayRecord("a0", "c0", t0 + timedelta(minutes=i)))
    later, earlier = t0 + timedelta(minutes=30), t0 + timedelta(seconds=90)
    for now in (later, earlier, later, t0 - timedelta(minutes=5)):
        got = explain(NOBODY, CAT, table, history, now, random.Random(1), POLICY)
        assert got == explain(NOBODY, CAT, table, list(history), now, random.Random(1), POLICY)


def test_history_pop_prune_and_versions() -> None:
    t0 = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
    h = PlayHistory(PlayRecord(f"a{i % 2}", "c", t0 + timedelta(minutes=i)) for i in range(6))
    v_a0, v_c = h.ad_version("a0"), h.campaign_version("c")
    assert h.prune(t0 + timedelta(minutes=2)) == 2
    assert h[0].started_at == t0 + timedelta(minutes=2)
    assert h.ad_plays("a0", t0 - timedelta(hours=1), t0 + timedelta(hours=1)) == 2
    assert h.ad_version("a0") != v_a0 and h.campaign_version("c") != v_c
    assert h.nth_latest("ad", "a1", 2, t0 + timedelta(hours=1)) == t0 + timedelta(minutes=3)
    assert h.nth_latest("campaign", "c", 5, t0 + timedelta(hours=1)) is None
    v = h.ad_version("a9")
    with h.including(PlayRecord("a9", "z", t0 + timedelta(minutes=9))) as seen:
        assert (
            seen is h
            and seen[-1].ad_id == "a9"
            and seen.campaign_plays("z", t0, t0 + timedelta(hours=1)) == 1
        )
    assert h[-1].ad_id == "a1" and len(h) == 4 and h.ad_version("a9") not in (0, v)
    assert h.last_play_of("a9", t0 + timedelta(hours=1)) is None
    with h.including(PlayRecord("old", "z", t0)) as seen:  # the clock stepped back: a sorted copy
        assert seen is not h and seen[0].ad_id == "old" and len(h) == 4
    with pytest.raises(ValueError):
        h.append(PlayRecord("a0", "c", t0))
