"""What a report holds: frozen figures, computed in SQL by ``signage.reports.query``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from signage.domain import AgeBand, Gender
from signage.impressions.metrics import AudienceRates
from signage.impressions.occupancy import OccupancyCell

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# The dates a report may cover: wide enough for any real campaign, narrow enough that no time-zone
# arithmetic on them can overflow.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class ReportFilter:
    """Which plays a report covers; ``None`` means no restriction. Dates are store-local, inclusive.

    A date outside ``FIRST_DAY``..``LAST_DAY`` raises ValueError (one sentence): time-zone
    arithmetic on year 1 or 9999 overflows, and no campaign runs then.
    """

    advertiser: str | None = None
    campaign: str | None = None
    ad_id: str | None = None
    screen_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("advertiser", self.advertiser),
                ("campaign", self.campaign),
                ("ad", self.ad_id),
                ("screen", self.screen_id),
                ("from", self.date_from),
                ("to", self.date_to),
            )
            if value is not None
        ]
        return ", ".join(parts) if parts else "all plays"

    def __post_init__(self) -> None:
        for name, day in (("from", self.date_from), ("to", self.date_to)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"the {name} date must be between {FIRST_DAY} and {LAST_DAY}, not {day}")


@dataclass(frozen=True)
class Figures(AudienceRates):
    """Sums over a set of plays; rates are derived, never stored, so they always add up."""

    plays: int = 0
    known_plays: int = 0  # plays during which the camera saw the audience
    ots: int = 0
    viewers: int = 0
    attention_s: float = 0.0
    viewer_attention_s: float = 0.0
    dwell_s: float = 0.0
    possible_minors: int = 0
    happy_before: int = 0
    classified_before: int = 0
    happy_during: int = 0
    classified_during: int = 0
    cost: float | None = None  # plays x cost_per_play, for the ads whose catalog entry gives one
    cost_viewers: int = 0  # viewers of those ads (the CPM denominator)

    @property
    def attention_per_viewer_s(self) -> float | None:
        return self.viewer_attention_s / self.viewers if self.viewers else None

    @property
    def cpm_viewers(self) -> float | None:
        """Cost per thousand viewers."""
        if self.cost is None or not self.cost_viewers:
            return None
        return self.cost / self.cost_viewers * 1000.0

    def __add__(self, other: Figures) -> Figures:
        cost = None if self.cost is None and other.cost is None else (self.cost or 0.0) + (other.cost or 0.0)
        return Figures(
            plays=self.plays + other.plays,
            known_plays=self.known_plays + other.known_plays,
            ots=self.ots + other.ots,
            viewers=self.viewers + other.viewers,
            attention_s=self.attention_s + other.attention_s,
            viewer_attention_s=self.viewer_attention_s + other.viewer_attention_s,
            dwell_s=self.dwell_s + other.dwell_s,
            possible_minors=self.possible_minors + other.possible_minors,
            happy_before=self.happy_before + other.happy_before,
            classified_before=self.classified_before + other.classified_before,
            happy_during=self.happy_during + other.happy_during,
            classified_during=self.classified_during + other.classified_during,
            cost=cost,
            cost_viewers=self.cost_viewers + other.cost_viewers,
        )

    def with_cost(self, cost_per_play: float | None) -> Figures:
        if cost_per_play is None:
            return self
        return replace(self, cost=self.plays * cost_per_play, cost_viewers=self.viewers)


@dataclass(frozen=True)
class AdFigures:
    advertiser: str
    campaign: str
    ad_id: str
    figures: Figures


@dataclass(frozen=True)
class CampaignFigures:
    advertiser: str
    campaign: str
    figures: Figures


@dataclass(frozen=True)
class ScreenFigures:
    screen_id: str
    figures: Figures


@dataclass(frozen=True)
class DayFigures:
    day: date  # store-local
    plays: int
    ots: int
    viewers: int


@dataclass(frozen=True)
class HeatCell:
    weekday: int  # 0 = Monday, store-local
    hour: int  # 0-23, store-local
    plays: int
    viewers: int

    @property
    def name(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.hour:02d}:00-{(self.hour + 1) % 24:02d}:00"


@dataclass(frozen=True)
class DemographicCell:
    age_band: AgeBand
    gender: Gender
    viewers: int


@dataclass(frozen=True)
class Report:
    title: str
    filter: ReportFilter
    timezone: str
    generated_at: datetime
    first_play: datetime | None
    last_play: datetime | None
    total: Figures
    campaigns: tuple[CampaignFigures, ...]
    ads: tuple[AdFigures, ...]
    screens: tuple[ScreenFigures, ...]
    days: tuple[DayFigures, ...]
    heatmap: tuple[HeatCell, ...]  # only cells with plays
    peaks: tuple[HeatCell, ...]  # the busiest cells by viewers, best first
    demographics: tuple[DemographicCell, ...]
    threshold_s: tuple[float, ...] = field(default=())  # viewer thresholds in force in these plays
    # Where people stood on these screens those days (signage.reports.occupancy); only cells with someone.
    floor: tuple[OccupancyCell, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return self.total.plays == 0

    @property
    def emotion_measured(self) -> bool:
        """Whether any play in it had a classified expression (none when emotion estimation is off)."""
        return bool(self.total.classified_before or self.total.classified_during)
