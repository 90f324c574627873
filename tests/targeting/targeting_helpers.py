"""Factories for the targeting tests: ads, people, rule tables written as YAML text."""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from signage.domain import EMOTIONS, Ad, AudienceSnapshot, Catalog, Emotion, MediaKind, Track
from signage.settings import PolicySettings
from signage.targeting.loader import build_ruleset, parse_rule_text
from signage.targeting.ruleset import RuleSet

PARIS = ZoneInfo("Europe/Paris")
POLICY = PolicySettings()
# 2026-11-20 is a Friday.
FRIDAY_9 = datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)


def ad(
    ad_id: str,
    campaign: str | None = None,
    subjects: tuple[str, ...] = (),
    *,
    restricted: bool = False,
    weight: float = 1.0,
    valid_from: date | None = None,
    valid_until: date | None = None,
    duration_s: float = 10.0,
) -> Ad:
    return Ad(
        ad_id=ad_id,
        media=Path(f"{ad_id}.png"),
        kind=MediaKind.IMAGE,
        duration_s=duration_s,
        advertiser="adv",
        campaign=campaign or ad_id,
        subjects=subjects,
        restricted=restricted,
        weight=weight,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def catalog(*ads: Ad) -> Catalog:
    return Catalog(ads=tuple(ads))


def person(
    age: float | None = 30.0,
    p_female: float | None = 0.95,
    emotion: Emotion | None = None,
    *,
    age_std: float = 2.0,
    minor: bool = False,
    watching: bool = True,
    track_id: int = 1,
) -> Track:
    probs = None
    if emotion is not None:
        probs = tuple(0.9 if e is emotion else 0.1 / 6 for e in EMOTIONS)
    return Track(
        track_id=track_id,
        first_seen_mono=0.0,
        last_seen_mono=0.0,
        dwell_s=4.0,
        attention_s=2.0,
        watching=watching,
        age_years=age,
        age_std_years=age_std if age is not None else None,
        p_female=p_female,
        emotion_probs=probs,
        possible_minor=minor,
    )


def crowd(*tracks: Track) -> AudienceSnapshot:
    return AudienceSnapshot(
        at_mono=0.0,
        known=True,
        tracks=tuple(Track(**{**t.__dict__, "track_id": i + 1}) for i, t in enumerate(tracks)),
    )


NOBODY = AudienceSnapshot(at_mono=0.0, known=True)
UNKNOWN = AudienceSnapshot.unknown()


@functools.lru_cache(maxsize=256)
def rules(text: str, tz: ZoneInfo = PARIS, file: str = "rules.yaml") -> RuleSet:
    """Compiled once per text: the caches inside a RuleSet never change a decision."""
    return build_ruleset([parse_rule_text(text, file)], tz)
