"""decide(): one table of cases per semantic of the rule language."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from targeting_helpers import FRIDAY_9, NOBODY, PARIS, POLICY, UNKNOWN, ad, catalog, crowd, person, rules

from signage.domain import AudienceSnapshot, Catalog, Decision, Emotion, PlayRecord
from signage.settings import PolicySettings
from signage.targeting.decide import decide, explain
from signage.targeting.history import PlayHistory

WOMAN_30 = crowd(person(30, 0.95))
MAN_30 = crowd(person(30, 0.05))

CAT = catalog(
    ad("coffee", "morning", ("drinks",)),
    ad("pizza", "lunch", ("food",)),
    ad("lipstick", "velvet", ("beauty",)),
    ad("beer", "lager", ("alcohol",)),  # restricted by policy subject
    ad("wine", "wine", ("drinks",), restricted=True),  # restricted by the catalog flag
    ad("toys", "toys", ("kids",)),
)


def pick(
    table: str,
    audience: AudienceSnapshot = WOMAN_30,
    now: datetime = FRIDAY_9,
    history: Sequence[PlayRecord] = (),
    seed: int = 1,
    cat: Catalog = CAT,
    policy: PolicySettings = POLICY,
) -> Decision:
    return decide(audience, cat, rules(table), list(history), now, random.Random(seed), policy)


def played(*args: object, **kwargs: object) -> str | None:
    """The id of the ad ``pick`` chooses (None: standby)."""
    decision = pick(*args, **kwargs)  # type: ignore[arg-type]
    return decision.ad.ad_id if decision.ad else None


def only(rule_id: str, **play: list[str]) -> str:
    return f"rules:\n  - id: {rule_id}\n    play: {play!r}\n".replace("'", "")


# --- audience --------------------------------------------------------------------------------

AUDIENCE_CASES = [
    # (audience spec, audience, fires?)
    ("{gender: female}", WOMAN_30, True),
    ("{gender: female}", MAN_30, False),
    ("{gender: female}", crowd(person(30, 0.55)), False),  # 55 % is below the 0.6 default: unknown
    ("{gender: female, min_confidence: 0.5}", crowd(person(30, 0.55)), True),
    ("{age: [25-34]}", WOMAN_30, True),
    ("{age: [25-34]}", crowd(person(50)), False),
    ("{age: [25-34]}", crowd(person(34.5, age_std=6)), False),  # the spread makes 25-34 unsure
    ("{age: [25-34, 35-44]}", crowd(person(34.5, age_std=6)), True),  # two bands add up
    ("{age: [25-34]}", crowd(person(None)), False),  # unclassified: unknown
    ("{age: [25-34]}", crowd(person(30, minor=True)), False),  # a possible minor never counts
    ("{emotion: happy}", crowd(person(30, emotion=Emotion.HAPPY)), True),
    ("{emotion: [sad, angry]}", crowd(person(30, emotion=Emotion.HAPPY)), False),
    ("{emotion: happy}", crowd(person(30, emotion=None)), False),
    ("{gender: male, age: 25-34, people: 2}", crowd(person(30, 0.05), person(31, 0.05)), True),
    ("{gender: male, age: 25-34, people: 2}", crowd(person(30, 0.05), person(31, 0.95)), False),
    ("{present: 2}", crowd(person(), person()), True),
    ("{present: 2}", crowd(person()), False),
    ("{present: {min: 3}}", crowd(person(), person(), person()), True),
    ("{present: {max: 0}}", NOBODY, True),
    ("{present: {max: 0}}", UNKNOWN, False),  # unknown is not "nobody"
    ("{watching: {min: 1}}", crowd(person(watching=False)), False),
    ("{watching: {min: 1}}", crowd(person(watching=False), person(watching=True)), True),
    ("{group: solo}", WOMAN_30, True),
    ("{group: solo}", crowd(person(), person()), False),
    ("{group: couple}", crowd(person(30, 0.9), person(35, 0.1)), True),
    ("{group: couple}", crowd(person(30), person(9, minor=True)), False),
    ("{group: adult-with-child}", crowd(person(30), person(9, minor=True)), True),
    ("{group: adult-with-child}", crowd(person(30), person(40)), False),
    ("{group: adult-with-child}", crowd(person(15, minor=True), person(9, minor=True)), False),
    ("{group: crowd}", crowd(person(), person(), person()), True),
    ("{gender: female}", UNKNOWN, False),  # camera offline: audience rules do not fire
]


@pytest.mark.parametrize(("spec", "audience", "fires"), AUDIENCE_CASES)
def test_audience_matching(spec: str, audience: AudienceSnapshot, fires: bool) -> None:
    table = f"rules:\n  - id: r\n    audience: {spec}\n    play: {{ads: [lipstick]}}\n"
    decision = pick(table, audience)
    assert (decision.rule == "r") is fires, decision.reason


# --- time ------------------------------------------------------------------------------------

TIME_CASES = [
    # (when keys, local time, fires?)
    ("days: [fri]", datetime(2026, 11, 20, 9, 0), True),
    ("days: [fri]", datetime(2026, 11, 21, 9, 0), False),
    ("days: weekend", datetime(2026, 11, 21, 9, 0), True),
    ("days: weekdays", datetime(2026, 11, 22, 9, 0), False),
    ('times: "08:00-10:00"', datetime(2026, 11, 20, 8, 0), True),  # start included
    ('times: "08:00-10:00"', datetime(2026, 11, 20, 10, 0), False),  # end excluded
    ('times: "22:00-02:00"', datetime(2026, 11, 20, 23, 30), True),
    ('times: "22:00-02:00"', datetime(2026, 11, 20, 1, 59), True),
    ('times: "22:00-02:00"', datetime(2026, 11, 20, 2, 0), False),
    ("dayparts: [breakfast]", datetime(2026, 11, 20, 7, 0), True),
    ("dayparts: [breakfast]", datetime(2026, 11, 20, 11, 0), False),
    ("dayparts: [breakfast, lunch]", datetime(2026, 11, 20, 12, 0), True),
    ("dates: [{from: 2026-11-20, until: 2026-11-20}]", datetime(2026, 11, 20, 23, 59), True),
    ("dates: [{from: 2026-11-21}]", datetime(2026, 11, 20, 23, 59), False),
    ("dates: [{until: 2026-11-19}, {from: 2026-11-20}]", datetime(2026, 11, 20, 0, 0), True),
    ('days: [sat]\n    times: "00:00-01:00"', datetime(2026, 11, 21, 0, 30), True),
]


@pytest.mark.parametrize(("when", "local", "fires"), TIME_CASES)
def test_time_matching_in_store_time(when: str, local: datetime, fires: bool) -> None:
    table = (
        'dayparts:\n  breakfast: "07:00-10:30"\n  lunch: ["11:30-14:00"]\n'
        f"rules:\n  - id: r\n    {when}\n    play: {{ads: [coffee]}}\n"
    )
    # Pass UTC in: decide must convert to the store's zone itself.
    now = local.replace(tzinfo=PARIS).astimezone(UTC)
    assert (pick(table, now=now).rule == "r") is fires


# --- what to play, restriction and minors -----------------------------------------------------

PLAY_CASES = [
    # (play spec, audience, ads that may be chosen)
    ("{ads: [coffee]}", WOMAN_30, {"coffee"}),
    ("{campaigns: [lunch]}", WOMAN_30, {"pizza"}),
    ("{subjects: [drinks]}", WOMAN_30, {"coffee", "wine"}),
    ("{subjects: [drinks]}", crowd(person(30), person(9, minor=True)), {"coffee"}),  # wine restricted
    ("{subjects: [drinks]}", UNKNOWN, {"coffee"}),  # unknown audience: a minor cannot be ruled out
    ("{subjects: [alcohol]}", MAN_30, {"beer"}),
    ("{subjects: [alcohol]}", NOBODY, {"beer"}),  # known and nobody there: no minor present
]


@pytest.mark.parametrize(("play", "audience", "allowed"), PLAY_CASES)
def test_play_resolution_and_restriction(play: str, audience: AudienceSnapshot, allowed: set[str]) -> None:
    seen = {played(f"rules:\n  - id: r\n    play: {play}\n", audience, seed=s) for s in range(30)}
    assert seen == allowed


def test_restricted_falls_back_to_house_without_restricted_ads_when_a_minor_may_be_present() -> None:
    decision = pick(only("r", subjects=["alcohol"]), crowd(person(40), person(10, minor=True)))
    assert decision.rule == "house-rotation"
    assert decision.ad is not None and decision.ad.ad_id not in {"beer", "wine"}


def test_operator_can_restrict_more_subjects() -> None:
    policy = PolicySettings(restricted_subjects=("alcohol", "beauty"))
    decision = pick(only("r", subjects=["beauty"]), UNKNOWN, policy=policy)
    assert decision.rule == "house-rotation" and decision.ad is not None and decision.ad.ad_id != "lipstick"


def test_ads_outside_their_dates_are_not_played() -> None:
    cat = catalog(
        ad("old", valid_until=date(2026, 11, 19)), ad("new", valid_from=date(2026, 11, 21)), ad("ok")
    )
    seen = {played(only("r", ads=["old", "new", "ok"]), cat=cat, seed=s) for s in range(20)}
    assert seen == {"ok"}


# --- tiers, weights ---------------------------------------------------------------------------


def test_highest_tier_with_an_eligible_ad_wins() -> None:
    table = """
rules:
  - {id: low, tier: 1, play: {ads: [coffee]}}
  - {id: high, tier: 9, play: {ads: [pizza]}}
  - {id: top-but-not-for-men, tier: 20, audience: {gender: female}, play: {ads: [lipstick]}}
"""
    assert pick(table, WOMAN_30).rule == "top-but-not-for-men"
    assert pick(table, MAN_30).rule == "high"
    runner_up = pick(table, MAN_30).runner_up
    assert runner_up is not None and runner_up.ad_id == "coffee"  # next in precedence


def test_weights_share_a_tier() -> None:
    table = "rules:\n  - {id: a, weight: 3, play: {ads: [coffee]}}\n  - {id: b, weight: 1, play: {ads: [pizza]}}\n"
    counts = Counter(pick(table, seed=s).rule for s in range(800))
    assert 0.68 < counts["a"] / 800 < 0.82


def test_ad_weights_share_a_rule() -> None:
    cat = catalog(ad("x", weight=1.0), ad("y", weight=4.0))
    counts = Counter(played(only("r", ads=["x", "y"]), cat=cat, seed=s) for s in range(800))
    assert 0.72 < counts["y"] / 800 < 0.88


# --- caps and gaps ----------------------------------------------------------------------------


def plays(ad_id: str, campaign: str, *minutes_ago: float) -> list[PlayRecord]:
    return [
        PlayRecord(ad_id, campaign, FRIDAY_9 - timedelta(minutes=m))
        for m in sorted(minutes_ago, reverse=True)
    ]


CAP_CASES = [
    # (table-wide caps, rule caps, history, does rule r still fire?)
    ("{ads: {coffee: {per_hour: 2}}}", "", plays("coffee", "morning", 10, 20), False),
    ("{ads: {coffee: {per_hour: 2}}}", "", plays("coffee", "morning", 10, 70), True),  # rolling hour
    ("{ads: {coffee: {per_day: 2}}}", "", plays("coffee", "morning", 100, 200), False),
    ("{ads: {coffee: {per_day: 2}}}", "", plays("coffee", "morning", 100, 600), True),  # before midnight
    ("{campaigns: {morning: {per_hour: 1}}}", "", plays("coffee", "morning", 5), False),
    ("{every_ad: {per_hour: 1}}", "", plays("coffee", "morning", 5), False),
    ("{every_campaign: {per_day: 3}}", "", plays("coffee", "morning", 5, 6, 7), False),
    ("{}", "caps: {ad: {per_hour: 1}}", plays("coffee", "morning", 5), False),
    ("{}", "caps: {campaign: {per_day: 2}}", plays("coffee", "morning", 5, 300), False),
    ("{}", "caps: {ad: {per_hour: 3}}", plays("coffee", "morning", 5), True),
    ("{}", "min_gap_s: 600", plays("coffee", "morning", 5), False),
    ("{}", "min_gap_s: 600", plays("coffee", "morning", 11), True),
    ("{campaigns: {morning: {per_day: 0}}}", "", [], False),  # a zero cap pauses a campaign
]


@pytest.mark.parametrize(("table_caps", "rule_caps", "history", "fires"), CAP_CASES)
def test_caps_and_gaps(table_caps: str, rule_caps: str, history: list[PlayRecord], fires: bool) -> None:
    table = f"caps: {table_caps}\nrules:\n  - id: r\n    play: {{ads: [coffee]}}\n    {rule_caps}\n"
    decision = pick(table, history=history)
    assert (decision.rule == "r") is fires, decision.reason
    if not fires:
        assert decision.ad is None or decision.ad.ad_id != "coffee" or decision.rule == "house-rotation"


def test_a_capped_rule_drops_out_and_the_next_tier_plays() -> None:
    table = """
caps: {ads: {lipstick: {per_hour: 1}}}
rules:
  - {id: top, tier: 5, play: {ads: [lipstick]}}
  - {id: next, tier: 1, play: {ads: [toys]}}
"""
    result = explain(
        WOMAN_30, CAT, rules(table), plays("lipstick", "velvet", 3), FRIDAY_9, random.Random(0), POLICY
    )
    assert result.decision.rule == "next"
    assert any("cap of 1 per hour" in s for s in result.bound)
    assert "cap of 1 per hour" in result.decision.reason


def test_table_caps_bind_the_house_rotation_too() -> None:
    cat = catalog(ad("a"), ad("b"))
    table = "caps: {ads: {a: {per_day: 1}}}\nrules: []\n"
    seen = {played(table, cat=cat, history=plays("a", "a", 30), seed=s) for s in range(20)}
    assert seen == {"b"}


def test_a_zero_cap_pauses_ads_in_the_house_rotation_too() -> None:
    cat = catalog(ad("a", "c1"), ad("b", "c2"))
    table = "caps: {campaigns: {c1: {per_hour: 0}}}\n"
    assert {played(table, cat=cat, seed=s) for s in range(20)} == {"b"}
    assert pick("caps: {every_ad: {per_day: 0}}\n", cat=cat).ad is None


@pytest.mark.parametrize(
    "caps",
    [
        "{every_ad: {per_hour: 1}}",
        "{every_campaign: {per_day: 1, per_hour: 2}}",
        "{campaigns: {a: {per_hour: 1}}}",
    ],
)
def test_house_rotation_honours_every_kind_of_table_cap(caps: str) -> None:
    cat = catalog(ad("a"))
    assert pick(f"caps: {caps}\n", cat=cat, history=plays("a", "a", 9)).ad is None


def test_standby_when_everything_is_capped() -> None:
    cat = catalog(ad("a"))
    decision = pick("caps: {every_ad: {per_hour: 1}}\n", cat=cat, history=plays("a", "a", 1))
    assert decision.ad is None and decision.rule == "standby"


def test_house_rotation_relaxes_the_gap_rather_than_show_standby() -> None:
    cat = catalog(ad("a"))
    decision = pick("defaults: {min_gap_s: 600}\n", cat=cat, history=plays("a", "a", 1))
    assert decision.ad is not None and decision.ad.ad_id == "a"


def test_fallback_pool_narrows_the_house_and_widens_when_empty() -> None:
    table = "fallback: {campaigns: [lunch]}\nrules: []\n"
    assert {played(table, seed=s) for s in range(20)} == {"pizza"}
    capped = "fallback: {campaigns: [lunch]}\ncaps: {ads: {pizza: {per_hour: 1}}}\n"
    decision = pick(capped, history=plays("pizza", "lunch", 1))
    assert decision.ad is not None and decision.ad.ad_id != "pizza"


# --- the decision itself ----------------------------------------------------------------------


def test_reason_names_rule_audience_time_and_ad() -> None:
    table = 'dayparts: {breakfast: "07:00-10:30"}\nrules:\n  - id: r\n    dayparts: [breakfast]\n' \
            "    audience: {gender: female}\n    play: {ads: [coffee]}\n"  # fmt: skip
    decision = pick(table)
    assert decision.rule == "r"
    for word in ("'r'", "tier 1", "woman", "breakfast", "'coffee'"):
        assert word in decision.reason


def test_no_rule_reason_says_why_then_house() -> None:
    table = "rules:\n  - {id: r, audience: {gender: male}, play: {ads: [coffee]}}\n"
    decision = pick(table)
    assert decision.rule == "house-rotation"
    assert decision.reason.startswith("none of the 1 rule(s) on at this time matches this audience")


def test_same_seed_same_decision_and_history_types_agree() -> None:
    table = "rules:\n  - {id: r, play: {subjects: [drinks, food, beauty, kids]}}\n"
    history = plays("coffee", "morning", 3, 2)
    a = decide(WOMAN_30, CAT, rules(table), history, FRIDAY_9, random.Random(7), POLICY)
    b = decide(WOMAN_30, CAT, rules(table), PlayHistory(history), FRIDAY_9, random.Random(7), POLICY)
    assert a == b


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        pick(only("r", ads=["coffee"]), now=datetime(2026, 11, 20, 9, 0))
