"""``is_open`` and ``next_change``: spans past midnight, dated exceptions, DST days (properties and cases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from screen_helpers import daily

from signage.fleet.hours import HoursError, is_open, next_change
from signage.fleet.protocol import OpeningSpan, StoreHours

PARIS = ZoneInfo("Europe/Paris")
ZONES = ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.astimezone(UTC))
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


def wall(at: datetime, tz: str = "Europe/Paris") -> datetime:
    return at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


@settings(deadline=None)  # a loaded test machine must not fail a pure function
@given(instants)
def test_no_hours_is_always_open(at: datetime) -> None:
    assert is_open(None, at) and next_change(None, at) is None


@settings(deadline=None)  # a loaded test machine must not fail a pure function
@given(instants, st.sampled_from(ZONES))
def test_a_span_past_midnight_is_open_late_and_early(at: datetime, tz: str) -> None:
    hours = daily("22:00", "02:00", tz=tz)
    local = wall(at, tz).time()
    assert is_open(hours, at) == (local >= time(22) or local < time(2))


@settings(deadline=None)  # a loaded test machine must not fail a pure function
@given(instants, minutes, minutes, st.sampled_from(ZONES))
def test_open_is_a_function_of_the_local_wall_clock(at: datetime, opens: time, closes: time, tz: str) -> None:
    hours = daily(opens.isoformat("minutes"), closes.isoformat("minutes"), tz=tz)
    local = wall(at, tz).time()
    if closes > opens:
        expected = opens <= local < closes
    else:  # past midnight (equal: around the clock)
        expected = local >= opens or local < closes or closes == opens
    assert is_open(hours, at) == expected


@settings(deadline=None)  # a loaded test machine must not fail a pure function
@given(instants, st.sampled_from(ZONES))
def test_an_empty_exception_closes_the_whole_day(at: datetime, tz: str) -> None:
    day = wall(at, tz).date()
    hours = daily("00:00", "23:59", tz=tz, exceptions=((day, ()),))
    assert not is_open(hours, at)
    assert is_open(hours, at + timedelta(days=2)) == (wall(at + timedelta(days=2), tz).time() < time(23, 59))


@settings(deadline=None)  # a loaded test machine must not fail a pure function
@given(instants, minutes, minutes)
def test_an_exception_replaces_its_weekday(at: datetime, opens: time, closes: time) -> None:
    day = wall(at).date()
    special = (OpeningSpan(opens, closes),)
    hours = daily("08:00", "20:00", exceptions=((day, special),))
    alone = StoreHours("Europe/Paris", tuple(special for _ in range(7)))
    local = wall(at).time()
    yesterday_runs_over = closes <= opens and local < closes  # the day before is a normal day
    if not yesterday_runs_over:
        assert is_open(hours, at) == is_open(alone, at)


@settings(max_examples=60, deadline=None)
@given(instants, minutes, minutes, st.sampled_from(ZONES))
def test_next_change_is_the_first_instant_the_answer_flips(
    at: datetime, opens: time, closes: time, tz: str
) -> None:
    hours = daily(opens.isoformat("minutes"), closes.isoformat("minutes"), tz=tz)
    change = next_change(hours, at)
    if opens == closes:
        assert change is None  # open around the clock
        return
    assert change is not None and change > at
    assert is_open(hours, change) != is_open(hours, at)
    just_before = change - timedelta(microseconds=1)
    assert just_before <= at or is_open(hours, just_before) == is_open(hours, at)
    assert change - at <= timedelta(days=1, hours=1)


def test_the_store_opens_at_eight_local_on_both_dst_days_in_paris() -> None:
    hours = daily("08:00", "20:00")
    for day, offset in ((date(2026, 3, 29), 2), (date(2026, 10, 25), 1)):  # spring forward, fall back
        opens = datetime.combine(day, time(8 - offset), tzinfo=UTC)
        closes = datetime.combine(day, time(20 - offset), tzinfo=UTC)
        assert not is_open(hours, opens - timedelta(seconds=1)) and is_open(hours, opens)
        assert is_open(hours, closes - timedelta(seconds=1)) and not is_open(hours, closes)
        night = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=2)
        assert next_change(hours, night) == opens and next_change(hours, opens) == closes


def test_a_night_span_over_the_dst_changes_in_paris() -> None:
    hours = daily("01:30", "02:30")
    # Spring forward (02:00 -> 03:00): 01:30 to the jump is all there is of the span, 30 minutes.
    spring = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert is_open(hours, spring) and not is_open(hours, spring + timedelta(minutes=30))
    assert next_change(hours, spring) == spring + timedelta(minutes=30)
    # Fall back (03:00 -> 02:00): 02:00-02:30 happens twice, and the store is open both times.
    first = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # 02:15 CEST
    second = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    assert wall(first) == wall(second) and is_open(hours, first) and is_open(hours, second)
    assert not is_open(hours, datetime(2026, 10, 25, 0, 45, tzinfo=UTC))  # 02:45 CEST


def test_an_opening_time_the_clocks_skip_opens_at_the_jump() -> None:
    hours = daily("02:30", "05:00")
    before = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert next_change(hours, before) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert is_open(hours, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))


def test_a_holiday_and_a_late_night_exception() -> None:
    christmas, eve = date(2026, 12, 25), date(2026, 12, 24)
    late = (OpeningSpan(time(18), time(1)),)
    hours = daily("08:00", "20:00", exceptions=((christmas, ()), (eve, late)))
    assert not is_open(hours, datetime(2026, 12, 24, 10, tzinfo=UTC))  # 11:00: the eve opens late
    assert is_open(hours, datetime(2026, 12, 24, 23, 30, tzinfo=UTC))  # 00:30 on Christmas, still the eve's
    assert not is_open(hours, datetime(2026, 12, 25, 0, 0, tzinfo=UTC))  # 01:00: closed
    assert not is_open(hours, datetime(2026, 12, 25, 11, tzinfo=UTC))  # Christmas day: closed
    assert is_open(hours, datetime(2026, 12, 26, 11, tzinfo=UTC))
    assert next_change(hours, datetime(2026, 12, 25, 0, 0, tzinfo=UTC)) == datetime(
        2026, 12, 26, 7, tzinfo=UTC
    )


def test_weekdays_start_on_monday() -> None:
    spans = tuple((OpeningSpan(time(9), time(17)),) if d < 5 else () for d in range(7))
    hours = StoreHours("UTC", spans)
    assert is_open(hours, datetime(2026, 11, 27, 12, tzinfo=UTC))  # a Friday
    assert not is_open(hours, datetime(2026, 11, 28, 12, tzinfo=UTC))  # a Saturday
    assert next_change(hours, datetime(2026, 11, 28, 12, tzinfo=UTC)) == datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_closed_for_good_never_changes_and_bad_hours_are_refused_in_one_sentence() -> None:
    never = StoreHours("UTC", tuple(() for _ in range(7)))
    assert not is_open(never, datetime(2026, 1, 1, tzinfo=UTC))
    assert next_change(never, datetime(2026, 1, 1, tzinfo=UTC)) is None
    with pytest.raises(HoursError, match="unknown time zone 'Mars/Olympus'"):
        is_open(daily("08:00", "20:00", tz="Mars/Olympus"), datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(HoursError, match="seven weekdays"):
        is_open(StoreHours("UTC", ((),)), datetime(2026, 1, 1, tzinfo=UTC))
