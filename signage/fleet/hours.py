"""Opening hours, evaluated: is the store open at a UTC instant, and when does that next change.

Pure functions over ``signage.fleet.protocol.StoreHours``: no clock, no file. Spans are local
times in the store's time zone; a span whose ``closes`` is at or before its ``opens`` runs past
midnight into the next day (``22:00-02:00``; ``00:00-00:00`` is the whole day and the night after).
A dated exception replaces that date's weekday spans (an exception without spans: closed all day);
a span that runs past midnight belongs to the day it opens on, whichever rules that day.

Local times are compared as wall-clock times of the instant, so a DST change moves nothing: a store
open 08:00-20:00 opens at 08:00 local on the day the clocks change. A local time the change skips
(02:30 on a spring-forward night) is reached at the first instant whose wall clock is past it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage.fleet.protocol import OpeningSpan, StoreHours

_MIDNIGHT = time(0, 0)
_ZONES: dict[str, ZoneInfo] = {}


class HoursError(ValueError):
    """Opening hours that cannot be evaluated (an unknown time zone, not seven weekdays)."""


def zone_of(hours: StoreHours) -> ZoneInfo:
    """The store's time zone; ``HoursError`` in one sentence when it is unknown."""
    zone = _ZONES.get(hours.timezone)
    if zone is None:
        try:
            zone = ZoneInfo(hours.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError(f"opening hours name an unknown time zone {hours.timezone!r}") from exc
        _ZONES[hours.timezone] = zone
    if len(hours.weekly) != 7:
        raise HoursError(f"opening hours need seven weekdays, Monday first, not {len(hours.weekly)}")
    return zone


def spans_of(hours: StoreHours, day: date) -> tuple[OpeningSpan, ...]:
    """The spans that open on ``day``: its dated exception if there is one, else its weekday's."""
    for exception_day, spans in hours.exceptions:
        if exception_day == day:
            return spans
    return hours.weekly[day.weekday()]


def _windows(hours: StoreHours, day: date) -> list[tuple[datetime, datetime]]:
    """The naive local [opens, closes) windows of the spans that open on ``day``."""
    out = []
    for span in spans_of(hours, day):
        opens = datetime.combine(day, span.opens)
        closes = datetime.combine(day, span.closes)
        if span.closes <= span.opens:
            closes += timedelta(days=1)
        out.append((opens, closes))
    return out


def _local(now_utc: datetime, zone: ZoneInfo) -> datetime:
    if now_utc.tzinfo is None:
        raise ValueError("is_open needs a timezone-aware time")
    return now_utc.astimezone(zone).replace(tzinfo=None)


def is_open(hours: StoreHours | None, now_utc: datetime) -> bool:
    """Whether the store is open at ``now_utc``; no hours at all means always open."""
    if hours is None:
        return True
    wall = _local(now_utc, zone_of(hours))
    today = wall.date()
    for day in (today - timedelta(days=1), today):  # yesterday's span may run past midnight
        if any(opens <= wall < closes for opens, closes in _windows(hours, day)):
            return True
    return False


def _first_instant_at_or_after(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first UTC instant whose local wall clock reads ``wall`` or later: the earlier of two when
    the clocks go back, the moment they jump past it when they go forward over it."""
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # A skipped wall time: ``fold=1`` reads it with the later offset, which lands before the jump.
    instant = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    while instant.astimezone(zone).replace(tzinfo=None) < wall:
        instant += timedelta(minutes=1)
    return instant


def next_change(hours: StoreHours | None, now_utc: datetime, horizon_days: int = 400) -> datetime | None:
    """The first UTC instant after ``now_utc`` at which ``is_open`` changes; None when it never does
    within ``horizon_days`` (no hours, or open or closed around the clock)."""
    if hours is None:
        return None
    zone = zone_of(hours)
    wall = _local(now_utc, zone)
    state = is_open(hours, now_utc)
    today = wall.date()
    edges = sorted(
        {
            edge
            for offset in range(-1, horizon_days + 1)
            for window in _windows(hours, today + timedelta(days=offset))
            for edge in window
            if edge > wall
        }
    )
    for edge in edges:
        at = _first_instant_at_or_after(edge, zone)
        if at > now_utc and is_open(hours, at) != state:
            return at
    return None
