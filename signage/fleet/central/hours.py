"""Opening hours as an operator types them: ``mon-fri 08:00-20:00``, ``sat 09:00-12:00,13:00-18:00``.

Days not named are closed; ``--closed 2026-12-25`` closes a date and ``--special "2026-12-24
09:00-14:00"`` gives a date its own hours. A span whose closing time is not after its opening time
runs past midnight (``22:00-02:00``); ``24:00`` means midnight.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, time

from signage.fleet.protocol import OpeningSpan, StoreHours

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES = {"daily": DAYS, "weekdays": DAYS[:5], "weekend": DAYS[5:]}


class HoursError(ValueError):
    """Hours that cannot be read; the message is one sentence quoting what was written."""


def _time(text: str, whole: str) -> time:
    if text == "24:00":
        return time(0, 0)
    try:
        if len(text) != 5 or text[2] != ":":
            raise ValueError(text)
        return time.fromisoformat(text)
    except ValueError:
        raise HoursError(f"{text!r} in {whole!r} is not a time of day; write HH:MM, e.g. 08:30") from None


def parse_spans(text: str, whole: str) -> tuple[OpeningSpan, ...]:
    """``08:00-12:00,13:00-18:00`` as spans, sorted by opening time; overlapping spans are refused."""
    spans = []
    for part in text.split(","):
        opens, sep, closes = part.strip().partition("-")
        if not sep:
            raise HoursError(f"{part.strip()!r} in {whole!r} is not a span; write HH:MM-HH:MM")
        span = OpeningSpan(_time(opens.strip(), whole), _time(closes.strip(), whole))
        if span.opens == span.closes and closes.strip() != "24:00":
            raise HoursError(f"{part.strip()!r} in {whole!r} opens and closes at the same time")
        spans.append(span)
    spans.sort(key=lambda s: s.opens)
    for before, after in itertools.pairwise(spans):
        ends_next_day = before.closes <= before.opens
        if ends_next_day or after.opens < before.closes:
            raise HoursError(f"the spans in {whole!r} overlap")
    return tuple(spans)


def parse_days(text: str, whole: str) -> tuple[int, ...]:
    """``mon-fri``, ``sat``, ``mon,wed``, ``fri-mon`` (wraps), ``daily``, ``weekdays``, ``weekend``."""
    days: list[int] = []
    for part in text.lower().split(","):
        part = part.strip()
        if part in _ALIASES:
            days.extend(DAYS.index(d) for d in _ALIASES[part])
            continue
        first, sep, last = part.partition("-")
        for name in (first, last) if sep else (first,):
            if name not in DAYS:
                raise HoursError(
                    f"{name!r} in {whole!r} is not a day; use mon, tue, wed, thu, fri, sat, sun "
                    "(or daily, weekdays, weekend)"
                )
        if not sep:
            days.append(DAYS.index(first))
            continue
        start, end = DAYS.index(first), DAYS.index(last)
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return tuple(dict.fromkeys(days))


def _date(text: str, whole: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HoursError(f"{text.strip()!r} in {whole!r} is not a date; write YYYY-MM-DD") from None


def parse_hours(
    timezone: str, week: Iterable[str], closed: Iterable[str] = (), special: Iterable[str] = ()
) -> StoreHours:
    """The StoreHours of ``--week``, ``--closed`` and ``--special`` options (see the module doc)."""
    weekly: list[list[OpeningSpan]] = [[] for _ in DAYS]
    for entry in week:
        days, _, spans = entry.strip().partition(" ")
        if not spans.strip():
            raise HoursError(f"{entry!r} names no hours; write e.g. 'mon-fri 08:00-20:00'")
        parsed = parse_spans(spans.strip(), entry)
        for day in parse_days(days, entry):
            merged = weekly[day] + list(parsed)
            weekly[day] = list(parse_spans(",".join(_span_text(s) for s in merged), entry))
    exceptions: dict[date, tuple[OpeningSpan, ...]] = {}
    for entry in closed:
        exceptions[_date(entry, entry)] = ()
    for entry in special:
        day_text, _, spans = entry.strip().partition(" ")
        when = _date(day_text, entry)
        if when in exceptions:
            raise HoursError(f"{when.isoformat()} is given twice (in --closed or --special)")
        if not spans.strip():
            raise HoursError(f"{entry!r} names no hours; write e.g. '2026-12-24 09:00-14:00'")
        exceptions[when] = parse_spans(spans.strip(), entry)
    return StoreHours(
        timezone=timezone,
        weekly=tuple(tuple(day) for day in weekly),
        exceptions=tuple(sorted(exceptions.items())),
    )


def _span_text(span: OpeningSpan) -> str:
    closes = "24:00" if span.closes == time(0, 0) else span.closes.strftime("%H:%M")
    return f"{span.opens.strftime('%H:%M')}-{closes}"


def describe_hours(hours: StoreHours | None) -> str:
    """One line, as the options would write it: ``mon-fri 08:00-20:00; sat 09:00-18:00; closed 2026-12-25``."""
    if hours is None:
        return "always open"
    parts: list[str] = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and hours.weekly[j + 1] == hours.weekly[i]:
            j += 1
        if hours.weekly[i]:
            days = DAYS[i] if i == j else f"{DAYS[i]}-{DAYS[j]}"
            parts.append(f"{days} {','.join(_span_text(s) for s in hours.weekly[i])}")
        i = j + 1
    for day, spans in hours.exceptions:
        text = ",".join(_span_text(s) for s in spans) if spans else "closed"
        parts.append(f"{day.isoformat()} {text}")
    return "; ".join(parts) or "closed every day"
