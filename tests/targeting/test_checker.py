"""rules check warnings: names the catalog lacks, rules that can never fire, competing rules."""

from __future__ import annotations

from datetime import date

import pytest
from targeting_helpers import POLICY, ad, catalog, rules

from signage.targeting.checker import check_rules

CAT = catalog(
    ad("coffee", "morning", ("drinks",)),
    ad("pizza", "lunch", ("food",)),
    ad("beer", "lager", ("alcohol",)),
    ad("xmas", "xmas", ("food",), valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 24)),
)

WARNING_CASES = [
    # (rules: list body, line of the warning, words)
    ("  - {id: r, play: {ads: [cofee]}}\n", 2, "no ad 'cofee' in the catalog"),
    ("  - {id: r, play: {campaigns: [nope]}}\n", 2, "no ad in the catalog belongs to campaign 'nope'"),
    ("  - {id: r, play: {subjects: [pets]}}\n", 2, "no ad in the catalog has subject 'pets'"),
    ("  - {id: r, play: {ads: [cofee]}}\n", 2, "none of the ads it names is in the catalog"),
    (
        "  - id: r\n    audience: {gender: female, people: 3, present: {max: 2}}\n    play: {ads: [coffee]}\n",
        2,
        "needs 3 matching people but at most 2 present",
    ),
    (
        "  - id: r\n    audience: {group: solo, present: {min: 2}}\n    play: {ads: [coffee]}\n",
        2,
        "never has",
    ),
    ("  - id: r\n    audience: {watching: {min: 3}, present: 2}\n    play: {ads: [coffee]}\n", 2, "watching"),
    (
        "  - id: r\n    days: [mon]\n    dates: [{from: 2026-11-21, until: 2026-11-22}]\n    play: {ads: [coffee]}\n",
        2,
        "its dates never fall on its days",
    ),
    (
        "  - id: r\n    dates: [{from: 2026-01-01, until: 2026-02-01}]\n    play: {ads: [xmas]}\n",
        2,
        "none of its ads is valid on its dates",
    ),
    (
        "  - id: r\n    audience: {group: adult-with-child}\n    play: {subjects: [alcohol]}\n",
        2,
        "restricted ads never play with a possible minor present",
    ),
    (
        "  - {id: top, tier: 5, play: {campaigns: [morning, lunch]}}\n"
        "  - id: under\n    tier: 2\n    days: weekdays\n    play: {ads: [pizza]}\n",
        4,  # the line of its tier
        "rule 'under' can never fire: rule 'top' (tier 5) matches whenever it does",
    ),
    (
        "  - {id: a, times: '08:00-12:00', play: {ads: [coffee]}}\n"
        "  - {id: b, times: '11:00-14:00', weight: 2, play: {ads: [pizza]}}\n",
        3,
        "competes with rule 'a' (same tier 1, same audience) around 11:00-12:00; they share airtime by weight 2:1",
    ),
]


@pytest.mark.parametrize(("body", "line", "words"), WARNING_CASES)
def test_warnings_are_located(body: str, line: int, words: str) -> None:
    findings = check_rules(rules("rules:\n" + body, file="w.yaml"), CAT, POLICY)
    hits = [f for f in findings if words in f.message]
    assert hits, [str(f) for f in findings]
    assert hits[0].line == line and hits[0].severity == "warning" and hits[0].file == "w.yaml"


NO_WARNING_CASES = [
    "  - {id: r, play: {ads: [coffee]}}\n",
    # A higher tier that can be capped does not shadow.
    "  - {id: top, tier: 5, play: {ads: [coffee, pizza]}, caps: {ad: {per_hour: 2}}}\n"
    "  - {id: under, tier: 2, play: {ads: [pizza]}}\n",
    # A higher tier for a narrower audience does not shadow a wider rule.
    "  - {id: top, tier: 5, audience: {gender: male}, play: {ads: [coffee, pizza]}}\n"
    "  - {id: under, tier: 2, play: {ads: [pizza]}}\n",
    # Same tier, different audiences: they do not compete.
    "  - {id: a, audience: {gender: male}, play: {ads: [coffee]}}\n"
    "  - {id: b, audience: {gender: female}, play: {ads: [pizza]}}\n",
    # Same tier, windows that do not overlap.
    "  - {id: a, times: '08:00-11:00', play: {ads: [coffee]}}\n"
    "  - {id: b, times: '11:00-14:00', play: {ads: [pizza]}}\n",
]


@pytest.mark.parametrize("body", NO_WARNING_CASES)
def test_no_false_alarms(body: str) -> None:
    assert check_rules(rules("rules:\n" + body), CAT, POLICY) == []


def test_caps_for_unknown_names_and_no_catalog() -> None:
    table = rules("caps:\n  ads: {ghost: {per_hour: 1}}\n  campaigns: {phantom: {per_day: 1}}\n")
    messages = [f.message for f in check_rules(table, CAT, POLICY)]
    assert messages == ["cap for unknown ad 'ghost'", "cap for unknown campaign 'phantom'"]
    assert check_rules(table, None, POLICY) == []  # without a catalog, names are not checked
