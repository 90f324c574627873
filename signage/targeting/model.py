"""The rule file's language: strict pydantic models of what a marketer writes in ``rules/*.yaml``.

Everything here is about *shape* and *local sense* (a window has a start and an end, a rule does
not target under-18 bands). Whether an ad id exists, whether a rule can ever fire, is the
checker's business, because that needs the catalog and the other rules.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from signage.domain import AgeBand, Emotion, Gender
from signage.strictmodel import StrictModel

RuleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
Confidence = Annotated[float, Field(ge=0.5, le=1.0)]

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

DAY_NAMES: dict[str, tuple[int, ...]] = {
    "mon": (0,),
    "tue": (1,),
    "wed": (2,),
    "thu": (3,),
    "fri": (4,),
    "sat": (5,),
    "sun": (6,),
    "monday": (0,),
    "tuesday": (1,),
    "wednesday": (2,),
    "thursday": (3,),
    "friday": (4,),
    "saturday": (5,),
    "sunday": (6,),
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
}


def parse_window(text: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` as (start, end) minutes of the day; ``end < start`` crosses midnight."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"a time window is written 'HH:MM-HH:MM', e.g. '07:00-10:30' (got {text!r})")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} is not a valid time of day; hours run 00-23 (24:00 as an end only)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end % 1440 and not (start == 0 and end == 1440):
        raise ValueError(f"the window {text!r} starts and ends at the same time, so it is empty")
    return start, end


def _check_day(value: str) -> str:
    if value.lower() not in DAY_NAMES:
        raise ValueError(f"unknown day {value!r}; use mon..sun, weekdays, weekend or daily")
    return value.lower()


def _check_window(value: str) -> str:
    parse_window(value)
    return value


def _check_band(value: AgeBand) -> AgeBand:
    if value.is_minor:
        raise ValueError(
            f"rules may not target the under-18 age band {value.value!r}: "
            "protection of minors is operator policy"
        )
    return value


DayName = Annotated[str, AfterValidator(_check_day), Field(examples=["weekdays", "sat"])]
Window = Annotated[str, AfterValidator(_check_window), Field(examples=["07:00-10:30", "22:00-02:00"])]
TargetBand = Annotated[AgeBand, AfterValidator(_check_band)]


class Group(StrEnum):
    SOLO = "solo"  # exactly one person present
    COUPLE = "couple"  # exactly two people, both adults
    ADULT_WITH_CHILD = "adult-with-child"  # at least one adult and one possible minor
    CROWD = "crowd"  # three or more people present


class CountRange(StrictModel):
    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> CountRange:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self

    def contains(self, n: int) -> bool:
        return n >= self.min and (self.max is None or n <= self.max)


def _count(value: object) -> object:
    # A bare number means "exactly this many", the way a marketer says "2 people".
    if isinstance(value, int) and not isinstance(value, bool):
        return {"min": value, "max": value}
    return value


class AudienceSpec(StrictModel):
    """Who must be in front of the screen. Attributes describe one person; ``people`` of them must match."""

    age: tuple[TargetBand, ...] = ()
    gender: Gender | None = None
    emotion: tuple[Emotion, ...] = ()
    people: Annotated[int, Field(ge=1, le=50)] = 1
    min_confidence: Confidence | None = None
    present: CountRange | None = None
    watching: CountRange | None = None
    group: Group | None = None

    _count_present = field_validator("present", mode="before")(lambda cls, v: _count(v))
    _count_watching = field_validator("watching", mode="before")(lambda cls, v: _count(v))

    @field_validator("age", "emotion", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @property
    def uses_person_attributes(self) -> bool:
        return bool(self.age or self.gender or self.emotion)

    @property
    def is_empty(self) -> bool:
        return self == AudienceSpec()


class Limits(StrictModel):
    per_hour: Annotated[int, Field(ge=0)] | None = None  # rolling 60 minutes
    per_day: Annotated[int, Field(ge=0)] | None = None  # store-local calendar day

    @model_validator(mode="after")
    def _something(self) -> Limits:
        if self.per_hour is None and self.per_day is None:
            raise ValueError("a cap needs per_hour, per_day or both")
        return self


class RuleCaps(StrictModel):
    ad: Limits | None = None  # each ad this rule plays
    campaign: Limits | None = None  # each campaign this rule plays


class GlobalCaps(StrictModel):
    every_ad: Limits | None = None
    every_campaign: Limits | None = None
    ads: dict[Name, Limits] = Field(default={})
    campaigns: dict[Name, Limits] = Field(default={})


class DateRange(StrictModel):
    from_: date | None = Field(default=None, alias="from")
    until: date | None = None

    model_config: ClassVar[ConfigDict] = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.from_ and self.until and self.until < self.from_:
            raise ValueError(f"'until' ({self.until}) is before 'from' ({self.from_})")
        return self

    def contains(self, day: date) -> bool:
        return (self.from_ is None or day >= self.from_) and (self.until is None or day <= self.until)


class PlaySpec(StrictModel):
    ads: tuple[Name, ...] = ()
    campaigns: tuple[Name, ...] = ()
    subjects: tuple[Name, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> PlaySpec:
        if not (self.ads or self.campaigns or self.subjects):
            raise ValueError("say what to play: ads, campaigns or subjects")
        return self


def _windows(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Rule(StrictModel):
    id: RuleId
    description: str = ""
    enabled: bool = True
    tier: Annotated[int, Field(ge=0, le=1000)] = 1
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    audience: AudienceSpec | None = None
    days: tuple[DayName, ...] = ()
    dayparts: tuple[Name, ...] = ()
    times: tuple[Window, ...] = ()
    dates: tuple[DateRange, ...] = ()
    play: PlaySpec
    caps: RuleCaps | None = None
    min_gap_s: Annotated[float, Field(ge=0, le=86400)] | None = None

    _one_time = field_validator("times", "days", "dayparts", mode="before")(lambda cls, v: _windows(v))

    @field_validator("dates", mode="before")
    @classmethod
    def _one_range(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value


class Defaults(StrictModel):
    min_confidence: Confidence = 0.6
    min_gap_s: Annotated[float, Field(ge=0, le=86400)] = 0.0


class Fallback(StrictModel):
    """The house rotation, optionally narrowed to some ads; nothing eligible there: every ad."""

    ads: tuple[Name, ...] = ()
    campaigns: tuple[Name, ...] = ()
    subjects: tuple[Name, ...] = ()


class RuleFile(StrictModel):
    version: Literal[1] = 1
    dayparts: dict[Name, Annotated[tuple[Window, ...], Field(min_length=1)]] = Field(default={})
    defaults: Defaults = Defaults()
    caps: GlobalCaps = GlobalCaps()
    fallback: Fallback = Fallback()
    rules: tuple[Rule, ...] = ()

    @field_validator("dayparts", mode="before")
    @classmethod
    def _one_window(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: _windows(v) for k, v in value.items()}
        return value
