"""What would play if...? An audience written in words, and a whole simulated day.

``parse_audience("2 women 25-34 happy, 1 child")`` builds the AudienceSnapshot the camera would
report for such people (confident attributes, everyone watching), so a marketer can try a rule
table before it goes live. ``simulate_day`` replays a day slot by slot with a varying audience.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from signage.domain import EMOTIONS, AgeBand, AudienceSnapshot, Catalog, Emotion, PlayRecord, Track
from signage.settings import PolicySettings
from signage.targeting.decide import explain
from signage.targeting.history import PlayHistory
from signage.targeting.ruleset import RuleSet

_NOUNS: dict[str, tuple[float | None, AgeBand | None]] = {
    # noun -> (p_female, implied age band)
    "woman": (0.95, None),
    "women": (0.95, None),
    "man": (0.05, None),
    "men": (0.05, None),
    "person": (None, None),
    "people": (None, None),
    "adult": (None, None),
    "adults": (None, None),
    "child": (None, AgeBand.CHILD),
    "children": (None, AgeBand.CHILD),
    "kid": (None, AgeBand.CHILD),
    "kids": (None, AgeBand.CHILD),
    "girl": (0.95, AgeBand.CHILD),
    "girls": (0.95, AgeBand.CHILD),
    "boy": (0.05, AgeBand.CHILD),
    "boys": (0.05, AgeBand.CHILD),
    "teen": (None, AgeBand.TEEN),
    "teens": (None, AgeBand.TEEN),
    "teenager": (None, AgeBand.TEEN),
    "teenagers": (None, AgeBand.TEEN),
}
_BAND_AGE = {b: (b.lower_years + min(b.upper_years, 80.0)) / 2 for b in AgeBand}
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


class AudienceSyntaxError(ValueError):
    """An audience description that cannot be read; the message names the part at fault."""


def _emotion_probs(emotion: Emotion | None) -> tuple[float, ...] | None:
    if emotion is None:
        return None
    return tuple(0.85 if e is emotion else 0.15 / (len(EMOTIONS) - 1) for e in EMOTIONS)


def parse_audience(text: str, at_mono: float = 0.0) -> AudienceSnapshot:
    """``"2 women 25-34 happy, 1 child"``, ``"1 man 65+ passing"``, ``"nobody"`` or ``"unknown"``."""
    spec = text.strip().lower()
    if spec in ("unknown", "offline", "no camera"):
        return AudienceSnapshot.unknown(at_mono)
    if spec in ("nobody", "none", "empty", "no one"):
        return AudienceSnapshot(at_mono=at_mono, known=True)
    tracks: list[Track] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            raise AudienceSyntaxError(f"empty group in audience {text!r}; separate groups with commas")
        tracks.extend(_group(part, len(tracks)))
    return AudienceSnapshot(at_mono=at_mono, known=True, tracks=tuple(tracks))


def _group(part: str, first_id: int) -> list[Track]:
    words = part.split()
    count = 1
    if words and (words[0].isdigit() or words[0] in _WORDS):
        count = int(words[0]) if words[0].isdigit() else _WORDS[words[0]]
        words = words[1:]
    if not 1 <= count <= 50:
        raise AudienceSyntaxError(f"{part!r}: a group holds 1 to 50 people")
    p_female: float | None = None
    band: AgeBand | None = None
    emotion: Emotion | None = None
    watching = True
    noun_seen = False
    for word in words:
        if word in _NOUNS:
            p_female, band_of_noun = _NOUNS[word]
            band = band or band_of_noun
            noun_seen = True
        elif word in {b.value for b in AgeBand}:
            band = AgeBand(word)
        elif re.fullmatch(r"\d{1,3}", word):
            band = AgeBand.of_age(float(word))
        elif word in {e.value for e in Emotion}:
            emotion = Emotion(word)
        elif word in ("passing", "passer-by", "not-watching"):
            watching = False
        elif word in ("watching", "looking"):
            watching = True
        else:
            raise AudienceSyntaxError(
                f"{part!r}: unknown word {word!r}; use e.g. '2 women 25-34 happy' or '1 child'"
            )
    if not noun_seen:
        raise AudienceSyntaxError(f"{part!r}: say who, e.g. women, men, people, child, teen")
    age = _BAND_AGE[band] if band is not None else None
    minor = band is not None and band.is_minor
    return [
        Track(
            track_id=first_id + i + 1,
            first_seen_mono=0.0,
            last_seen_mono=0.0,
            dwell_s=5.0,
            attention_s=3.0 if watching else 0.0,
            watching=watching,
            age_years=age,
            age_std_years=1.5 if age is not None else None,
            p_female=p_female,
            emotion_probs=_emotion_probs(emotion),
            p_minor=1.0 if minor else (0.0 if age is not None else None),
            possible_minor=minor,
            samples=10,
        )
        for i in range(count)
    ]


# A store's foot traffic by hour (people per slot on average): quiet nights, busy lunch and evening.
_TRAFFIC = (
    0,
    0,
    0,
    0,
    0,
    0,
    0.2,
    0.8,
    1.5,
    1.2,
    1.0,
    1.5,
    2.5,
    2.0,
    1.2,
    1.0,
    1.2,
    2.0,
    2.5,
    1.8,
    1.0,
    0.5,
    0.2,
    0,
)


def random_audience(rng: random.Random, hour: int) -> AudienceSnapshot:
    """A plausible audience for that hour: Poisson-ish head count, mixed ages, moods and genders."""
    mean = _TRAFFIC[hour % 24]
    count = 0
    while rng.random() < mean / (mean + 1.0) and count < 8:
        count += 1
    people: list[str] = []
    for _ in range(count):
        r = rng.random()
        if r < 0.1:
            people.append("1 child")
        elif r < 0.15:
            people.append("1 teen")
        else:
            band = rng.choice([b for b in AgeBand if not b.is_minor]).value
            noun = rng.choice(["woman", "man", "person"])
            mood = rng.choice(["happy", "neutral", "neutral", "sad", "surprise"])
            people.append(f"1 {noun} {band} {mood}{'' if rng.random() < 0.6 else ' passing'}")
    return parse_audience(", ".join(people) if people else "nobody")


@dataclass(frozen=True)
class DayReport:
    plays: int
    standby_slots: int
    by_campaign: tuple[tuple[str, int, float], ...]  # campaign, plays, share of airtime
    by_rule: tuple[tuple[str, int], ...]
    caps_bound: tuple[tuple[str, int], ...]  # sentence, how many decisions it affected


def simulate_day(
    rules: RuleSet,
    catalog: Catalog,
    day: date,
    policy: PolicySettings,
    seed: int = 0,
    history: Sequence[PlayRecord] = (),
    standby_s: float = 10.0,
) -> DayReport:
    """Play one store-local day from 00:00 to 24:00, slot after slot, with random audiences."""
    rng = random.Random(seed)
    audience_rng = random.Random(seed + 1)
    start = datetime.combine(day, time(0), tzinfo=rules.tz)
    end = start + timedelta(days=1)
    now = start
    log = PlayHistory(history)
    airtime: dict[str, float] = {}
    plays: Counter[str] = Counter()
    rules_fired: Counter[str] = Counter()
    bound: Counter[str] = Counter()
    standby = 0
    while now < end:
        audience = random_audience(audience_rng, now.hour)
        result = explain(audience, catalog, rules, log, now, rng, policy)
        for sentence in result.bound:
            bound[sentence] += 1
        ad = result.decision.ad
        rules_fired[result.decision.rule] += 1
        if ad is None:
            standby += 1
            now += timedelta(seconds=standby_s)
            continue
        log.append(PlayRecord(ad.ad_id, ad.campaign, now.astimezone(rules.tz)))
        plays[ad.campaign] += 1
        airtime[ad.campaign] = airtime.get(ad.campaign, 0.0) + ad.duration_s
        now += timedelta(seconds=max(ad.duration_s, 1.0))
    total_air = sum(airtime.values()) or 1.0
    return DayReport(
        plays=sum(plays.values()),
        standby_slots=standby,
        by_campaign=tuple(
            (c, plays[c], airtime[c] / total_air) for c in sorted(airtime, key=lambda c: -airtime[c])
        ),
        by_rule=tuple(rules_fired.most_common()),
        caps_bound=tuple(_cap_summary(bound)),
    )


def _cap_summary(bound: Counter[str]) -> list[tuple[str, int]]:
    """Caps only (gaps are routine), most frequent first."""
    return [(s, n) for s, n in bound.most_common() if "cap of" in s]
