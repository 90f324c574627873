"""Past plays on this screen, indexed so that caps and repeat gaps cost a bisect, not a scan."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import overload

from signage.domain import PlayRecord


class PlayHistory(Sequence[PlayRecord]):
    """A time-ordered sequence of plays with per-ad and per-campaign start times.

    ``decide`` accepts any sequence of PlayRecord; passing a PlayHistory that the loop keeps
    appending to (and pruning) saves rebuilding the index at every decision. ``decide`` never
    mutates it. Every change bumps a version per ad and per campaign (never reused), so that a
    cache derived from the plays of one ad or campaign knows when it is stale.
    """

    def __init__(self, records: Iterable[PlayRecord] = ()) -> None:
        self._records: list[PlayRecord] = []
        self._by_ad: dict[str, list[datetime]] = {}
        self._by_campaign: dict[str, list[datetime]] = {}
        self._ad_version: dict[str, int] = {}
        self._campaign_version: dict[str, int] = {}
        self._changes = 0
        for record in sorted(records, key=lambda r: r.started_at):
            self.append(record)

    @classmethod
    def of(cls, history: Sequence[PlayRecord]) -> PlayHistory:
        return history if isinstance(history, PlayHistory) else cls(history)

    def _touch(self, record: PlayRecord) -> None:
        self._changes += 1
        self._ad_version[record.ad_id] = self._changes
        self._campaign_version[record.campaign] = self._changes

    def append(self, record: PlayRecord) -> None:
        if self._records and record.started_at < self._records[-1].started_at:
            raise ValueError(
                f"play of {record.ad_id!r} at {record.started_at} is older than the last play; "
                "history must be appended in time order"
            )
        self._records.append(record)
        self._by_ad.setdefault(record.ad_id, []).append(record.started_at)
        self._by_campaign.setdefault(record.campaign, []).append(record.started_at)
        self._touch(record)

    def pop(self) -> PlayRecord:
        """Remove and return the latest record (undoes the last ``append``)."""
        record = self._records.pop()
        for index, key in ((self._by_ad, record.ad_id), (self._by_campaign, record.campaign)):
            times = index[key]
            times.pop()
            if not times:
                del index[key]
        self._touch(record)
        return record

    def prune(self, before: datetime) -> int:
        """Drop the plays that started before ``before``; returns how many were dropped."""
        n = bisect.bisect_left(self._records, before, key=lambda r: r.started_at)
        for record in self._records[:n]:
            for index, key in ((self._by_ad, record.ad_id), (self._by_campaign, record.campaign)):
                times = index[key]
                del times[0]
                if not times:
                    del index[key]
            self._touch(record)
        del self._records[:n]
        return n

    @contextmanager
    def including(self, record: PlayRecord | None) -> Iterator[PlayHistory]:
        """This history with ``record`` added for the duration of the block (None: as it is).

        The loop uses it to count the play on screen, which is recorded only when it ends. A record
        older than the latest play (the wall clock stepped back) is added to a sorted copy instead.
        """
        if record is None:
            yield self
        elif self._records and record.started_at < self._records[-1].started_at:
            yield PlayHistory([*self._records, record])
        else:
            self.append(record)
            try:
                yield self
            finally:
                self.pop()

    def ad_version(self, ad_id: str) -> int:
        """Changes whenever a play of ``ad_id`` is added or removed."""
        return self._ad_version.get(ad_id, 0)

    def campaign_version(self, campaign: str) -> int:
        return self._campaign_version.get(campaign, 0)

    @overload
    def __getitem__(self, index: int) -> PlayRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PlayRecord]: ...
    def __getitem__(self, index: int | slice) -> PlayRecord | Sequence[PlayRecord]:
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[PlayRecord]:
        return iter(self._records)

    @staticmethod
    def _count(times: list[datetime] | None, since: datetime, until: datetime) -> int:
        """Plays with ``since < started_at <= until``."""
        if not times:
            return 0
        return bisect.bisect_right(times, until) - bisect.bisect_right(times, since)

    def ad_plays(self, ad_id: str, since: datetime, until: datetime) -> int:
        return self._count(self._by_ad.get(ad_id), since, until)

    def campaign_plays(self, campaign: str, since: datetime, until: datetime) -> int:
        return self._count(self._by_campaign.get(campaign), since, until)

    def nth_latest(self, kind: str, key: str, n: int, until: datetime) -> datetime | None:
        """Start of the ``n``-th latest play (1: the latest) of an ad or campaign up to ``until``."""
        times = (self._by_ad if kind == "ad" else self._by_campaign).get(key)
        if not times or n < 1:
            return None
        i = bisect.bisect_right(times, until) - n
        return times[i] if i >= 0 else None

    def last_play_of(self, ad_id: str, until: datetime) -> datetime | None:
        times = self._by_ad.get(ad_id)
        if not times:
            return None
        i = bisect.bisect_right(times, until)
        return times[i - 1] if i else None

    def ads_played_since(self, since: datetime) -> set[str]:
        """Ids of ads started after ``since`` (the only ones a cap or a gap can exclude)."""
        start = bisect.bisect_right(self._records, since, key=lambda r: r.started_at)
        return {r.ad_id for r in self._records[start:]}

    @property
    def latest(self) -> datetime | None:
        return self._records[-1].started_at if self._records else None
