"""The simulated store scene's script: who is where, looking which way, at time t.

Pure and deterministic: a seed fixes the whole (endless) sequence of visits, and ``people_at(t)``
answers for any t in any order. Rendering lives in ``render.py``; this module is the ground truth
a test or a benchmark compares perception against.
"""

from __future__ import annotations

import bisect
import enum
import math
from dataclasses import dataclass

import numpy as np


class Pose(enum.StrEnum):
    FRONTAL = "frontal"  # looking at the screen (the camera sits on it)
    TURNED = "turned"  # head turned to one side: browsing the shelf, walking past
    AWAY = "away"  # back of the head to the camera


@dataclass(frozen=True)
class Visit:
    visitor_id: int
    cast_index: int
    arrive_s: float  # enters at a frame edge
    walk_s: float  # time to walk between the edge and the spot
    linger_s: float  # time spent at the spot
    enter_left: bool
    exit_left: bool
    spot_x: float  # where the head lingers, fraction of the frame width
    distance_m: float
    mirrored: bool
    gaze: tuple[tuple[float, Pose, bool], ...]  # (offset into the linger, pose, turned to the left)

    @property
    def linger_start_s(self) -> float:
        return self.arrive_s + self.walk_s

    @property
    def linger_end_s(self) -> float:
        return self.linger_start_s + self.linger_s

    @property
    def gone_s(self) -> float:
        return self.linger_end_s + self.walk_s


@dataclass(frozen=True)
class PersonView:
    """One person in one frame; ``x`` is the head centre as a fraction of the frame width."""

    visitor_id: int
    cast_index: int
    x: float
    distance_m: float
    pose: Pose
    turned_left: bool
    mirrored: bool
    walking: bool

    @property
    def looking(self) -> bool:
        return self.pose is Pose.FRONTAL


_OFF_LEFT, _OFF_RIGHT = -0.2, 1.2


def _ease(u: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(max(u, 0.0), 1.0))


class SceneScript:
    """An endless, seeded sequence of shoppers who arrive, linger, glance at the screen and leave."""

    def __init__(
        self,
        seed: int,
        cast_size: int,
        *,
        mean_gap_s: float = 6.0,
        max_people: int = 3,
        distance_m: tuple[float, float] = (1.2, 3.5),
        linger_s: tuple[float, float] = (4.0, 14.0),
    ) -> None:
        if cast_size < 1:
            raise ValueError("the simulated scene needs at least one cast member")
        self._rng = np.random.default_rng(seed)
        self._cast_size = cast_size
        self._mean_gap_s = mean_gap_s
        self._max_people = max_people
        self._distance_m = distance_m
        self._linger_s = linger_s
        self._visits: list[Visit] = []
        self._arrivals: list[float] = []
        self._next_arrival = 0.5  # someone shows up at once, so a demo has a face within a second
        self._longest_s = 0.0

    def _gaze(self, linger_s: float) -> tuple[tuple[float, Pose, bool], ...]:
        rng = self._rng
        segments: list[tuple[float, Pose, bool]] = []
        offset = 0.0
        while offset < linger_s:
            if not segments:
                pose = Pose.FRONTAL if rng.random() < 0.7 else Pose.TURNED
            else:
                pose = Pose(rng.choice([p.value for p in Pose], p=[0.55, 0.25, 0.2]))
            segments.append((offset, pose, bool(rng.random() < 0.5)))
            offset += float(rng.uniform(1.5, 4.0))
        return tuple(segments)

    def _add_visit(self) -> None:
        rng = self._rng
        arrive = self._next_arrival
        walk = float(rng.uniform(1.0, 2.0))
        linger = float(rng.uniform(*self._linger_s))
        present = [v for v in self._visits if v.gone_s > arrive]
        if len(present) >= self._max_people:
            arrive = sorted(v.gone_s for v in present)[len(present) - self._max_people] + 0.1
            present = [v for v in present if v.gone_s > arrive]
        busy = {v.cast_index for v in present}
        free = [i for i in range(self._cast_size) if i not in busy] or list(range(self._cast_size))
        visit = Visit(
            visitor_id=len(self._visits),
            cast_index=int(rng.choice(free)),
            arrive_s=arrive,
            walk_s=walk,
            linger_s=linger,
            enter_left=bool(rng.random() < 0.5),
            exit_left=bool(rng.random() < 0.5),
            spot_x=float(rng.uniform(0.2, 0.8)),
            distance_m=float(rng.uniform(*self._distance_m)),
            mirrored=bool(rng.random() < 0.5),
            gaze=self._gaze(linger),
        )
        self._visits.append(visit)
        self._arrivals.append(arrive)
        self._longest_s = max(self._longest_s, visit.gone_s - visit.arrive_s)
        gap = float(rng.exponential(self._mean_gap_s))
        if rng.random() < 0.2:
            gap += float(rng.uniform(8.0, 20.0))  # now and then the store is empty for a while
        self._next_arrival = arrive + min(max(gap, 1.0), 40.0)

    def visits_until(self, t: float) -> tuple[Visit, ...]:
        """Every visit that arrives at or before ``t``."""
        while self._next_arrival <= t:
            self._add_visit()
        end = bisect.bisect_right(self._arrivals, t)
        return tuple(self._visits[:end])

    def people_at(self, t: float) -> tuple[PersonView, ...]:
        """Everyone in the frame at ``t``, farthest first (the order to draw them in)."""
        visits = self.visits_until(t)
        start = bisect.bisect_left(self._arrivals, t - self._longest_s - 1.0)
        views = [view for v in visits[start:] if (view := _view(v, t)) is not None]
        return tuple(sorted(views, key=lambda p: (-p.distance_m, p.visitor_id)))


def _view(visit: Visit, t: float) -> PersonView | None:
    if not visit.arrive_s <= t < visit.gone_s:
        return None
    if t < visit.linger_start_s:
        start = _OFF_LEFT if visit.enter_left else _OFF_RIGHT
        u = _ease((t - visit.arrive_s) / visit.walk_s)
        x = start + (visit.spot_x - start) * u
        # Walking in, the head faces the way they walk.
        return _person(visit, x, Pose.TURNED, turned_left=not visit.enter_left, walking=True)
    if t >= visit.linger_end_s:
        end = _OFF_LEFT if visit.exit_left else _OFF_RIGHT
        u = _ease((t - visit.linger_end_s) / visit.walk_s)
        x = visit.spot_x + (end - visit.spot_x) * u
        return _person(visit, x, Pose.TURNED, turned_left=visit.exit_left, walking=True)
    offset = t - visit.linger_start_s
    index = bisect.bisect_right([g[0] for g in visit.gaze], offset) - 1
    _, pose, left = visit.gaze[max(index, 0)]
    return _person(visit, visit.spot_x, pose, turned_left=left, walking=False)


def _person(visit: Visit, x: float, pose: Pose, *, turned_left: bool, walking: bool) -> PersonView:
    return PersonView(
        visitor_id=visit.visitor_id,
        cast_index=visit.cast_index,
        x=x,
        distance_m=visit.distance_m,
        pose=pose,
        turned_left=turned_left,
        mirrored=visit.mirrored,
        walking=walking,
    )
