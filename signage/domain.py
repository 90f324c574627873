"""The shared vocabulary: small frozen dataclasses that every stage speaks.

No MediaPipe, torch, VLC or pygame type travels past its adapter; stages exchange these.
Times: ``*_mono`` fields are ``time.monotonic()`` seconds (durations inside one process);
``datetime`` fields are timezone-aware UTC.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path


class AgeBand(enum.StrEnum):
    CHILD = "child"  # 0-12
    TEEN = "teen"  # 13-17
    A18_24 = "18-24"
    A25_34 = "25-34"
    A35_44 = "35-44"
    A45_54 = "45-54"
    A55_64 = "55-64"
    A65_PLUS = "65+"

    @property
    def lower_years(self) -> float:
        return _BAND_EDGES[self][0]

    @property
    def upper_years(self) -> float:
        """Exclusive upper edge in years (``inf`` for 65+)."""
        return _BAND_EDGES[self][1]

    @property
    def is_minor(self) -> bool:
        return self in (AgeBand.CHILD, AgeBand.TEEN)

    @classmethod
    def of_age(cls, years: float) -> AgeBand:
        for band, (low, high) in _BAND_EDGES.items():
            if low <= years < high:
                return band
        return cls.CHILD if years < 0 else cls.A65_PLUS


_BAND_EDGES: dict[AgeBand, tuple[float, float]] = {
    AgeBand.CHILD: (0.0, 13.0),
    AgeBand.TEEN: (13.0, 18.0),
    AgeBand.A18_24: (18.0, 25.0),
    AgeBand.A25_34: (25.0, 35.0),
    AgeBand.A35_44: (35.0, 45.0),
    AgeBand.A45_54: (45.0, 55.0),
    AgeBand.A55_64: (55.0, 65.0),
    AgeBand.A65_PLUS: (65.0, math.inf),
}
_EDGE_VALUES = tuple(sorted({edge for pair in _BAND_EDGES.values() for edge in pair}))


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


class Emotion(enum.StrEnum):
    """FER2013's seven classes, in the order the attribute model outputs them."""

    ANGRY = "angry"
    DISGUST = "disgust"
    FEAR = "fear"
    HAPPY = "happy"
    NEUTRAL = "neutral"
    SAD = "sad"
    SURPRISE = "surprise"


EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)

# The ad id of the loop's standby slot (an empty catalog, nothing playable): no ad, no impression, no event.
STANDBY_ID = "standby"
# An emergency alert's display is a play whose ad id is this prefix and the alert's id (never billed).
ALERT_PREFIX = "alert:"


def _normal_cdf(x: float, mean: float, std: float) -> float:
    if math.isinf(x):
        return 1.0 if x > 0 else 0.0
    return 0.5 * (1.0 + math.erf((x - mean) / (max(std, 1e-6) * math.sqrt(2.0))))


@dataclass(frozen=True)
class Track:
    """One person while present, with attributes pooled over the whole track.

    Attribute fields are ``None`` until the person has been classified at least once.
    """

    track_id: int
    first_seen_mono: float
    last_seen_mono: float
    dwell_s: float
    attention_s: float
    watching: bool
    distance_m: float | None = None
    age_years: float | None = None
    age_std_years: float | None = None
    p_female: float | None = None
    emotion_probs: tuple[float, ...] | None = None  # aligned with EMOTIONS
    p_minor: float | None = None
    possible_minor: bool = False
    samples: int = 0  # how many classifications were pooled
    # Metres to the side of the camera's axis (positive: the image's right), from the face's centre
    # and its distance; None with the distance (signage.audience.geometry).
    lateral_m: float | None = None

    def band_probabilities(self) -> dict[AgeBand, float]:
        """P(age band) from the pooled age estimate and spread (a normal approximation)."""
        if self.age_years is None:
            return {}
        std = self.age_std_years or 1.0
        # Each edge once (bands share them): the targeting engine asks at every decision.
        cdf = {edge: _normal_cdf(edge, self.age_years, std) for edge in _EDGE_VALUES}
        return {band: cdf[high] - cdf[low] for band, (low, high) in _BAND_EDGES.items()}

    @property
    def age_band(self) -> AgeBand | None:
        return None if self.age_years is None else AgeBand.of_age(self.age_years)

    @property
    def gender(self) -> Gender | None:
        if self.p_female is None:
            return None
        return Gender.FEMALE if self.p_female >= 0.5 else Gender.MALE

    @property
    def gender_confidence(self) -> float:
        return 0.0 if self.p_female is None else max(self.p_female, 1.0 - self.p_female)

    @property
    def emotion(self) -> Emotion | None:
        if not self.emotion_probs:
            return None
        best = max(range(len(self.emotion_probs)), key=self.emotion_probs.__getitem__)
        return EMOTIONS[best]


@dataclass(frozen=True)
class AudienceSnapshot:
    """Who is in front of the screen at one moment. ``known=False`` means no camera or perception."""

    at_mono: float
    known: bool
    tracks: tuple[Track, ...] = ()

    @classmethod
    def unknown(cls, at_mono: float = 0.0) -> AudienceSnapshot:
        return cls(at_mono=at_mono, known=False)

    @property
    def present(self) -> int:
        return len(self.tracks)

    @property
    def watching(self) -> int:
        return sum(1 for t in self.tracks if t.watching)

    @property
    def possible_minor_present(self) -> bool:
        # Unknown audience: we cannot rule a minor out, so restricted content stays off.
        return (not self.known) or any(t.possible_minor for t in self.tracks)

    def counts(self) -> dict[tuple[AgeBand, Gender], int]:
        """People by (age band, gender); only classified tracks are counted."""
        out: dict[tuple[AgeBand, Gender], int] = {}
        for track in self.tracks:
            band, gender = track.age_band, track.gender
            if band is not None and gender is not None:
                out[(band, gender)] = out.get((band, gender), 0) + 1
        return out

    def mood(self) -> dict[Emotion, float]:
        """Mean emotion distribution of the classified people present (empty when nobody is)."""
        probs = [t.emotion_probs for t in self.tracks if t.emotion_probs]
        if not probs:
            return {}
        return {e: sum(p[i] for p in probs) / len(probs) for i, e in enumerate(EMOTIONS)}


class MediaKind(enum.StrEnum):
    VIDEO = "video"
    IMAGE = "image"


@dataclass(frozen=True)
class Ad:
    ad_id: str
    media: Path
    kind: MediaKind
    duration_s: float
    advertiser: str
    campaign: str
    title: str = ""
    description: str = ""
    subjects: tuple[str, ...] = ()
    restricted: bool = False
    valid_from: date | None = None
    valid_until: date | None = None
    weight: float = 1.0
    cost_per_play: float | None = None

    def is_valid_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_until is not None and day > self.valid_until)


@dataclass(frozen=True)
class Catalog:
    ads: tuple[Ad, ...]
    standby: Path | None = None
    skipped: tuple[str, ...] = ()  # one sentence per ad left out at load time
    # Every media file the catalog file names (played or left out) and its standby slide: a
    # change to any of them (a repaired video) makes a reload worth it.
    media_files: tuple[Path, ...] = ()

    def by_id(self, ad_id: str) -> Ad | None:
        return next((ad for ad in self.ads if ad.ad_id == ad_id), None)


@dataclass(frozen=True)
class PlayRecord:
    """What ``decide`` needs to know about past plays (frequency caps, repeat gaps)."""

    ad_id: str
    campaign: str
    started_at: datetime


@dataclass(frozen=True)
class Decision:
    """The next ad (``None``: show the standby slide), the rule that chose it and why."""

    ad: Ad | None
    rule: str
    reason: str
    runner_up: Ad | None = None


class PlayOutcome(enum.StrEnum):
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    ALERT = "alert"  # an emergency alert was on screen (ad id ``ALERT_PREFIX<alert id>``): never billed


@dataclass(frozen=True)
class Play:
    """One proof-of-play record."""

    play_id: str
    screen_id: str
    ad_id: str
    advertiser: str
    campaign: str
    started_at: datetime
    ended_at: datetime | None
    planned_s: float
    actual_s: float
    outcome: PlayOutcome | None  # None while the play is still on screen
    reason: str = ""
    rule: str = ""
    audience_known: bool = False
    present_at_start: int = 0
    watching_at_start: int = 0
    release_id: str | None = None  # the fleet release on screen (``<group>#<number>``), if any
