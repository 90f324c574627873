import random
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from signage.domain import Ad, MediaKind, PlayRecord
from signage.targeting.rotation import HOUSE_RULE, STANDBY_RULE, house_rotation, is_restricted

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def ad(ad_id: str, weight: float = 1.0, **kw: object) -> Ad:
    return Ad(ad_id, Path(f"/m/{ad_id}.mp4"), MediaKind.VIDEO, 10.0, "adv", f"c-{ad_id}", weight=weight, **kw)  # type: ignore[arg-type]


def test_weights_set_the_share_of_voice() -> None:
    ads = [ad("a", 3.0), ad("b", 1.0)]
    rng = random.Random(7)
    counts = Counter(house_rotation(ads, NOW, [], rng).ad.ad_id for _ in range(4000))  # type: ignore[union-attr]
    assert 0.70 < counts["a"] / 4000 < 0.80


def test_never_the_same_ad_twice_in_a_row_when_another_is_valid() -> None:
    ads = [ad("a", 100.0), ad("b", 1.0)]
    rng = random.Random(1)
    history: list[PlayRecord] = []
    for _ in range(50):
        decision = house_rotation(ads, NOW, history, rng)
        assert decision.rule == HOUSE_RULE and decision.ad is not None
        assert not history or decision.ad.ad_id != history[-1].ad_id
        history.append(PlayRecord(decision.ad.ad_id, decision.ad.campaign, NOW))


def test_a_single_ad_repeats() -> None:
    history = [PlayRecord("a", "c-a", NOW)]
    assert house_rotation([ad("a")], NOW, history, random.Random(0)).ad == ad("a")


def test_validity_dates_are_respected() -> None:
    ads = [ad("old", valid_until=date(2026, 11, 20)), ad("future", valid_from=date(2026, 11, 22)), ad("now")]
    picks = {house_rotation(ads, NOW, [], random.Random(s)).ad.ad_id for s in range(30)}  # type: ignore[union-attr]
    assert picks == {"now"}


def test_no_valid_ad_means_standby_with_a_reason() -> None:
    decision = house_rotation([ad("old", valid_until=date(2026, 1, 1))], NOW, [], random.Random(0))
    assert decision.ad is None and decision.rule == STANDBY_RULE and "valid today" in decision.reason
    assert "no playable ad" in house_rotation([], NOW, [], random.Random(0)).reason


def test_same_seed_same_sequence() -> None:
    ads = [ad("a"), ad("b", 2.0), ad("c")]

    def run(seed: int) -> list[str]:
        rng = random.Random(seed)
        out: list[str] = []
        history: list[PlayRecord] = []
        for _ in range(20):
            chosen = house_rotation(ads, NOW, history, rng).ad
            assert chosen is not None
            history.append(PlayRecord(chosen.ad_id, chosen.campaign, NOW))
            out.append(chosen.ad_id)
        return out

    assert run(3) == run(3)


def test_restriction_by_flag_or_subject() -> None:
    assert is_restricted(ad("x", restricted=True), ())
    assert is_restricted(ad("y", subjects=("alcohol",)), ("alcohol",))
    assert not is_restricted(ad("z", subjects=("food",)), ("alcohol",))
