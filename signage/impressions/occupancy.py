"""Where people stand: an anonymous floor grid in front of the screen, per hour, as counts only.

Each audience sample places every present person on a 1 m x 1 m cell of the floor from where their
face is: its distance (face width) and its offset to the side of the camera's axis (the face's
centre in the frame), both from ``signage.audience.geometry`` via the tracker's ``Track``. Per UTC
hour and cell the accumulator counts

* ``people``: distinct people who stood there during the hour (one person walking across the
  floor counts once in each cell they crossed), and
* ``person_s``: seconds of presence (track-seconds), which is what density means.

Track ids are used in memory only, within the hour, to count a person once per cell; nothing that
leaves this module names a person: an ``OccupancyCell`` is two numbers for two coordinates.
``OccupancyAccumulator`` is pure (snapshots and times are passed in); ``OccupancyObserver`` plugs it
into the slot loop and writes each hour's cell totals through the store's writer as overwrites
(idempotent): every minute, when the hour turns, and when the player stops.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from signage.domain import AudienceSnapshot, Play, PlayOutcome

CELL_M = 1.0  # the stored unit: cell (x, y) covers [x, x + 1) m to the side and [y, y + 1) m deep
LATERAL_CELLS = range(-3, 3)  # -3 m .. 3 m either side of the camera's axis
DEPTH_CELLS = range(0, 6)  # 0 m .. 6 m from the screen


@dataclass(frozen=True)
class OccupancyCell:
    """One floor cell's counts for one hour; no identifier of anyone."""

    cell_x: int  # metres to the side of the camera's axis (image right positive), floor
    cell_y: int  # metres from the screen, floor
    people: int
    person_s: float


def cell_of(lateral_m: float, depth_m: float) -> tuple[int, int] | None:
    """The grid cell a person at (``lateral_m``, ``depth_m``) stands on; None off the grid."""
    if not (math.isfinite(lateral_m) and math.isfinite(depth_m)):
        return None
    x, y = math.floor(lateral_m / CELL_M), math.floor(depth_m / CELL_M)
    return (x, y) if x in LATERAL_CELLS and y in DEPTH_CELLS else None


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in (``at`` must be timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("occupancy hours are UTC: pass a timezone-aware time")
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class _Cell:
    __slots__ = ("person_s", "tracks")

    def __init__(self) -> None:
        self.tracks: set[int] = set()  # in memory only, to count each person once per cell
        self.person_s = 0.0


class OccupancyAccumulator:
    """Counts per (UTC hour, cell). Pure: ``add(snapshot, now_utc)``; not thread-safe (one owner)."""

    def __init__(self, max_gap_s: float = 2.0) -> None:
        self.max_gap_s = max_gap_s  # a longer gap between samples is not credited as presence
        self._hours: dict[datetime, dict[tuple[int, int], _Cell]] = {}
        self._last_mono: float | None = None

    def add(self, snapshot: AudienceSnapshot, now_utc: datetime) -> None:
        """Place everyone in ``snapshot`` on the floor; the time since the previous sample is theirs."""
        if not snapshot.known:
            self._last_mono = None  # no camera: nobody is credited across the blind spell
            return
        dt = 0.0
        if self._last_mono is not None and 0.0 < snapshot.at_mono - self._last_mono <= self.max_gap_s:
            dt = snapshot.at_mono - self._last_mono
        if self._last_mono is None or snapshot.at_mono > self._last_mono:
            self._last_mono = snapshot.at_mono
        hour = hour_of(now_utc)
        for track in snapshot.tracks:
            if track.distance_m is None or track.lateral_m is None:
                continue
            cell = cell_of(track.lateral_m, track.distance_m)
            if cell is None:
                continue
            state = self._hours.setdefault(hour, {}).setdefault(cell, _Cell())
            state.tracks.add(track.track_id)
            state.person_s += dt

    def hours(self) -> tuple[datetime, ...]:
        return tuple(sorted(self._hours))

    def cells(self, hour: datetime) -> tuple[OccupancyCell, ...]:
        """The hour's totals so far, by cell (only cells someone stood on)."""
        grid = self._hours.get(hour, {})
        return tuple(
            OccupancyCell(x, y, len(c.tracks), round(c.person_s, 3)) for (x, y), c in sorted(grid.items())
        )

    def forget(self, hour: datetime) -> None:
        """Drop an hour (after its final totals were written): its track ids leave memory."""
        self._hours.pop(hour, None)


class OccupancySink(Protocol):
    def write_occupancy(
        self, screen_id: str, run_id: uuid.UUID, hour: datetime, cells: tuple[OccupancyCell, ...]
    ) -> None:
        """Store (overwrite) one hour's cell totals of this player run."""


class OccupancyObserver:
    """A ``signage.loop.PlayObserver``: feeds every audience sample to the accumulator, writes totals.

    Each player start has its own random ``run_id`` in the rows' key, so overwriting this run's
    totals never erases what an earlier run (before a restart in the same hour) stored: reports sum
    the runs.
    """

    def __init__(
        self,
        sink: OccupancySink,
        screen_id: str,
        now_utc: Callable[[], datetime],
        monotonic: Callable[[], float],
        write_every_s: float = 60.0,
        run_id: uuid.UUID | None = None,
    ) -> None:
        self.sink = sink
        self.screen_id = screen_id
        self.run_id = run_id or uuid.uuid4()
        self._now_utc = now_utc
        self._monotonic = monotonic
        self._write_every_s = write_every_s
        self._accumulator = OccupancyAccumulator()
        self._last_write_mono = monotonic()
        self._dirty: set[datetime] = set()

    def play_started(self, play: Play, audience: AudienceSnapshot) -> None:
        self._sample(audience)

    def audience_sample(self, audience: AudienceSnapshot) -> None:
        self._sample(audience)

    def play_ended(self, play: Play, audience: AudienceSnapshot) -> None:
        self._sample(audience)
        if play.outcome is PlayOutcome.INTERRUPTED:  # the player is stopping (or was stopped): write now
            self.flush()

    def _sample(self, audience: AudienceSnapshot) -> None:
        now = self._now_utc()
        self._accumulator.add(audience, now)
        if audience.known and audience.tracks:
            self._dirty.add(hour_of(now))
        current = hour_of(now)
        turned = any(h < current for h in self._accumulator.hours())
        if turned or self._monotonic() - self._last_write_mono >= self._write_every_s:
            self.flush()

    def flush(self) -> None:
        """Write every hour with new counts; hours before the current one are final and forgotten."""
        self._last_write_mono = self._monotonic()
        current = hour_of(self._now_utc())
        for hour in self._accumulator.hours():
            if hour in self._dirty:
                cells = self._accumulator.cells(hour)
                if cells:
                    self.sink.write_occupancy(self.screen_id, self.run_id, hour, cells)
                self._dirty.discard(hour)
            if hour < current:
                self._accumulator.forget(hour)
