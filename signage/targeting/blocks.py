"""May this ad play now under this rule's caps and gap? The verdict, remembered across decisions.

A verdict depends only on the plays of the ad and of its campaign up to ``now``, on the store-local
date (``per_day`` counts start at midnight) and on how far ``now`` is past those plays. Adding a
play only ever tightens it; time passing only ever loosens it. So with no play of that ad or
campaign added or removed since (the history's versions), on the same date, and with ``now`` not
moved backwards, a verdict holds until the cap that binds lets go: for ``per_hour``, one hour after
the N-th latest play. A repeat gap is re-checked at every use (one subtraction), since its reason
says how long ago the ad played. Plays recorded after ``now`` make nothing monotone: then the
cache is bypassed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from signage.domain import Ad
from signage.targeting.history import PlayHistory
from signage.targeting.model import Limits
from signage.targeting.ruleset import CompiledRule

_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Instants:
    """The moments one decision counts from."""

    now: datetime
    hour_ago: datetime
    day_start: datetime
    day: date


def over(
    kind: str,
    key: str,
    limits: tuple[Limits | None, ...],
    count: Callable[[str, datetime, datetime], int],
    history: PlayHistory,
    at: Instants,
) -> tuple[str | None, datetime | None]:
    """(why the first binding limit excludes ``key``, when it lets go: None for "not today"),
    or (None, None) when no limit binds."""
    hour: int | None = None
    today: int | None = None
    for lim in limits:
        if lim is None:
            continue
        if lim.per_hour is not None:
            hour = count(key, at.hour_ago, at.now) if hour is None else hour
            if hour >= lim.per_hour:
                nth = history.nth_latest(kind, key, lim.per_hour, at.now)
                why = f"{kind} {key!r} reached its cap of {lim.per_hour} per hour"
                return why, (nth + _HOUR if nth is not None else None)
        if lim.per_day is not None:
            today = count(key, at.day_start, at.now) if today is None else today
            if today >= lim.per_day:
                return f"{kind} {key!r} reached its cap of {lim.per_day} per day", None
    return None, None


def gap_reason(ad_id: str, now: datetime, last: datetime, gap: float) -> str | None:
    ago = (now - last).total_seconds()
    return f"{ad_id!r} played {ago:.0f} s ago (gap {gap:g} s)" if ago < gap else None


class Judge(Protocol):
    """What a decision offers the cache: the uncached verdict, in parts."""

    history: PlayHistory
    at: Instants

    def gap_of(self, rule: CompiledRule | None) -> float: ...

    def cap_block(self, ad: Ad, rule: CompiledRule | None) -> tuple[str | None, datetime | None]: ...


# (ad version, campaign version, date, cap lets go at (None: not today), last play or None, gap,
#  cap reason or None)
_Entry = tuple[int, int, date, datetime | None, datetime | None, float, str | None]


class BlockCache:
    """Verdicts per (ad, rule) for one history object; lives beside the catalog index."""

    def __init__(self, limit: int = 200_000) -> None:
        self._history: PlayHistory | None = None
        self._now: datetime | None = None
        self._entries: dict[tuple[str, int], _Entry] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._entries)

    def usable(self, history: PlayHistory, now: datetime) -> bool:
        """Whether this decision may use the cache; forgets what it can no longer trust."""
        latest = history.latest
        if latest is not None and latest > now:
            return False
        if self._history is not history or self._now is None or now < self._now:
            self._entries.clear()
            self._history = history
        elif len(self._entries) > self._limit:
            self._entries.clear()
        self._now = now
        return True

    def verdict(self, judge: Judge, ad: Ad, rule: CompiledRule | None) -> str | None:
        """Why ``ad`` may not play now under ``rule`` (None: the house), or None when it may."""
        history, at = judge.history, judge.at
        key = (ad.ad_id, id(rule))
        ad_version = history.ad_version(ad.ad_id)
        campaign_version = history.campaign_version(ad.campaign)
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry[0] == ad_version
            and entry[1] == campaign_version
            and entry[2] == at.day
            and (entry[3] is None or at.now < entry[3])
        ):
            last = entry[4]
            if last is not None:
                why = gap_reason(ad.ad_id, at.now, last, entry[5])
                if why is not None:
                    return why
            return entry[6]
        gap = judge.gap_of(rule)
        last = history.last_play_of(ad.ad_id, at.now) if gap > 0 else None
        cap_why, until = judge.cap_block(ad, rule)
        self._entries[key] = (ad_version, campaign_version, at.day, until, last, gap, cap_why)
        if last is not None:
            why = gap_reason(ad.ad_id, at.now, last, gap)
            if why is not None:
                return why
        return cap_why
