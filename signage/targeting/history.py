"""Past plays on this screen, indexed so that caps and repeat gaps cost a bisect, not a scan."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import overload

from signage.domain import PlayRecord


class PlayHistory(Sequence[PlayRecord]):
    """An append-only, time-ordered sequence of plays with per-ad and per-campaign start times.

    ``decide`` accepts any sequence of PlayRecord; passing a PlayHistory that the loop keeps
    appending to saves rebuilding the index at every decision. ``decide`` never mutates it.
    """

    def __init__(self, records: Iterable[PlayRecord] = ()) -> None:
        self._records: list[PlayRecord] = []
        self._by_ad: dict[str, list[datetime]] = {}
        self._by_campaign: dict[str, list[datetime]] = {}
        for record in sorted(records, key=lambda r: r.started_at):
            self.append(record)

    @classmethod
    def of(cls, history: Sequence[PlayRecord]) -> PlayHistory:
        return history if isinstance(history, PlayHistory) else cls(history)

    def append(self, record: PlayRecord) -> None:
        if self._records and record.started_at < self._records[-1].started_at:
            raise ValueError(
                f"play of {record.ad_id!r} at {record.started_at} is older than the last play; "
                "history must be appended in time order"
            )
        self._records.append(record)
        self._by_ad.setdefault(record.ad_id, []).append(record.started_at)
        self._by_campaign.setdefault(record.campaign, []).append(record.started_at)

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
