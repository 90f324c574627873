"""Opening hours written in the screen's own settings (``hours:`` in ``signage.yaml``).

They win over the hours the fleet sends, and work without a fleet at all::

    hours:
      timezone: Europe/Paris        # default: the screen's timezone
      mon: ["08:00-20:00"]
      tue: ["08:00-12:30", "14:00-20:00"]
      wed: ["08:00-20:00"]
      thu: ["08:00-20:00"]
      fri: ["08:00-22:00"]
      sat: ["20:00-02:00"]          # closes after midnight, on Sunday
      sun: []                       # closed
      exceptions:
        2026-12-25: []              # closed all day
        2026-12-24: ["08:00-14:00"] # instead of that Thursday's hours

Every weekday must be given (an empty list: closed), so a forgotten day is an error, not a closed shop.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from signage.fleet.directives import FleetDirectives
from signage.fleet.protocol import Alert, OpeningSpan, StoreHours
from signage.strictmodel import StrictModel

SPAN_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
Span = Annotated[str, Field(pattern=SPAN_PATTERN, description="HH:MM-HH:MM, local time")]
Spans = tuple[Span, ...]


def _span(text: str) -> OpeningSpan:
    opens, closes = text.split("-")
    return OpeningSpan(time.fromisoformat(opens), time.fromisoformat(closes))


class LocalHoursSettings(StrictModel):
    timezone: str | None = None  # default: the screen's ``timezone``
    mon: Spans
    tue: Spans
    wed: Spans
    thu: Spans
    fri: Spans
    sat: Spans
    sun: Spans
    exceptions: dict[date, Spans] = Field(default={})

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except Exception as exc:  # not found, a folder, a bad name
                raise ValueError("unknown time zone; use an IANA name such as 'Europe/Paris'") from exc
        return value

    def store_hours(self, default_timezone: str) -> StoreHours:
        days = (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)
        return StoreHours(
            self.timezone or default_timezone,
            tuple(tuple(_span(s) for s in day) for day in days),
            tuple((day, tuple(_span(s) for s in spans)) for day, spans in sorted(self.exceptions.items())),
        )


class LocalHours:
    """``FleetDirectives`` whose hours are the screen's own; alerts still come from ``fleet``."""

    def __init__(self, hours: StoreHours, fleet: FleetDirectives | None = None) -> None:
        self._hours = hours
        self._fleet = fleet

    def active_alerts(self, now_utc: datetime) -> tuple[Alert, ...]:
        return () if self._fleet is None else self._fleet.active_alerts(now_utc)

    def hours(self) -> StoreHours | None:
        return self._hours

    def alert_media(self, alert: Alert) -> Path | None:
        return None if self._fleet is None else self._fleet.alert_media(alert)
