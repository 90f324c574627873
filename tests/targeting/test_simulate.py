"""The audience parser and the simulated day."""

from __future__ import annotations

from datetime import date

import pytest
from targeting_helpers import POLICY, ad, catalog, rules

from signage.domain import AgeBand, Emotion, Gender
from signage.targeting.simulate import AudienceSyntaxError, parse_audience, simulate_day


def test_parse_groups_of_people() -> None:
    snap = parse_audience("2 women 25-34 happy, 1 child")
    assert snap.known and snap.present == 3
    women = snap.tracks[:2]
    assert all(t.gender is Gender.FEMALE and t.age_band is AgeBand.A25_34 for t in women)
    assert all(t.emotion is Emotion.HAPPY and not t.possible_minor for t in women)
    assert snap.tracks[2].possible_minor and snap.tracks[2].age_band is AgeBand.CHILD
    assert snap.possible_minor_present
    assert len({t.track_id for t in snap.tracks}) == 3


@pytest.mark.parametrize(
    ("text", "present", "known", "minor"),
    [
        ("1 man 65+", 1, True, False),
        ("nobody", 0, True, False),
        ("unknown", 0, False, True),
        ("a teen, two men 45-54 passing", 3, True, True),
        ("3 people", 3, True, False),
        ("1 woman 30 sad", 1, True, False),
    ],
)
def test_parse_forms(text: str, present: int, known: bool, minor: bool) -> None:
    snap = parse_audience(text)
    assert (snap.present, snap.known, snap.possible_minor_present) == (present, known, minor)


def test_passing_people_are_not_watching() -> None:
    snap = parse_audience("2 men passing, 1 woman")
    assert snap.watching == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2 wizards", "unknown word 'wizards'"),
        ("2 women, ", "empty group"),
        ("25-34 happy", "say who"),
        ("99 women", "1 to 50"),
    ],
)
def test_parse_errors_name_the_part(text: str, words: str) -> None:
    with pytest.raises(AudienceSyntaxError, match=words):
        parse_audience(text)


def test_simulated_day_reports_share_of_voice_and_bound_caps() -> None:
    cat = catalog(
        ad("coffee", "morning", duration_s=60),
        ad("pizza", "lunch", duration_s=60),
        ad("shoes", duration_s=90),
    )
    table = rules(
        "caps: {campaigns: {morning: {per_hour: 2}}}\n"
        "rules:\n  - {id: coffee-all-day, tier: 5, play: {ads: [coffee]}}\n"
    )
    report = simulate_day(table, cat, date(2026, 11, 20), POLICY, seed=3)
    by = {c: (n, share) for c, n, share in report.by_campaign}
    assert by["morning"][0] == 48  # capped at 2 per rolling hour, all day
    assert dict(report.by_rule)["coffee-all-day"] == 48
    assert any("cap of 2 per hour" in s for s, _ in report.caps_bound)
    assert abs(sum(share for _, share in by.values()) - 1.0) < 1e-9
    assert report.standby_slots == 0
    again = simulate_day(table, cat, date(2026, 11, 20), POLICY, seed=3)
    assert again == report
