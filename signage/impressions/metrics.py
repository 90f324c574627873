"""Per-play impression metrics: a pure accumulator fed audience snapshots.

The definitions are written out in ``docs/metrics.md``; this module is their only implementation.
Nothing here reads a clock or a file: the loop passes each snapshot in, with its own timestamp.

Tracks carry cumulative ``dwell_s`` and ``attention_s`` since the person was first seen, so the
share of them that fell inside a play is the last value seen during the play minus the value at
the play's start. A track is keyed by its ``track_id``: a person who steps out of view and comes
back while the tracker still holds their track counts once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from signage.domain import EMOTIONS, AgeBand, AudienceSnapshot, Emotion, Gender, Track

DEFAULT_VIEWER_THRESHOLD_S = 1.0
_HAPPY = EMOTIONS.index(Emotion.HAPPY)


@dataclass(frozen=True)
class TrackImpression:
    """One anonymous person's share of one play; no identifier beyond the order of appearance."""

    ordinal: int  # 1, 2, ... in order of first appearance during the play
    dwell_s: float
    attention_s: float
    viewer: bool
    age_band: AgeBand | None
    gender: Gender | None
    emotion: Emotion | None  # dominant emotion at the person's last sample in the play
    possible_minor: bool


@dataclass(frozen=True)
class CompositionCell:
    age_band: AgeBand
    gender: Gender
    viewers: int


class AudienceRates:
    """Rates derived from counts (never stored, so they always add up); one definition for a play
    and for a report's sums. The class using it provides the counted fields."""

    viewers: int
    ots: int
    happy_before: int
    classified_before: int
    happy_during: int
    classified_during: int

    @property
    def viewer_rate(self) -> float | None:
        return self.viewers / self.ots if self.ots else None

    @property
    def happy_share_before(self) -> float | None:
        return self.happy_before / self.classified_before if self.classified_before else None

    @property
    def happy_share_during(self) -> float | None:
        return self.happy_during / self.classified_during if self.classified_during else None


@dataclass(frozen=True)
class Impression(AudienceRates):
    """What the audience did during one play (``audience_known`` False: no camera, all counts 0)."""

    play_id: str
    threshold_s: float
    audience_known: bool
    ots: int  # opportunities to see: distinct people present during the play
    viewers: int  # people whose attention during the play reached threshold_s
    attention_s: float  # total attention seconds of everyone present
    dwell_s: float  # total seconds people were present during the play
    possible_minors: int
    happy_before: int  # classified people just before the play whose dominant emotion was happy
    classified_before: int
    happy_during: int
    classified_during: int
    composition: tuple[CompositionCell, ...]  # viewers by age band x gender (classified viewers only)
    tracks: tuple[TrackImpression, ...]

    @property
    def attention_per_viewer_s(self) -> float | None:
        """Attention of the viewers only, averaged over them."""
        if not self.viewers:
            return None
        return sum(t.attention_s for t in self.tracks if t.viewer) / self.viewers


@dataclass
class _Running:
    """Mutable per-track state inside one accumulator (never leaves it)."""

    ordinal: int
    dwell_base: float
    attention_base: float
    dwell_last: float
    attention_last: float
    dwell_done: float = 0.0  # closed segments, if the tracker ever restarted the counters
    attention_done: float = 0.0
    last: Track | None = None
    possible_minor: bool = False

    def update(self, track: Track) -> None:
        # A counter that went backwards means the tracker restarted it: bank what we had.
        if track.dwell_s < self.dwell_last or track.attention_s < self.attention_last:
            self.dwell_done += max(0.0, self.dwell_last - self.dwell_base)
            self.attention_done += max(0.0, self.attention_last - self.attention_base)
            self.dwell_base = self.attention_base = 0.0
        self.dwell_last, self.attention_last = track.dwell_s, track.attention_s
        self.last = track
        self.possible_minor = self.possible_minor or track.possible_minor

    @property
    def dwell_s(self) -> float:
        return self.dwell_done + max(0.0, self.dwell_last - self.dwell_base)

    @property
    def attention_s(self) -> float:
        return self.attention_done + max(0.0, self.attention_last - self.attention_base)


def _is_happy(track: Track) -> bool | None:
    """Whether the dominant emotion is happy; None when the track was never classified."""
    if not track.emotion_probs:
        return None
    return track.emotion == Emotion.HAPPY


@dataclass
class ImpressionAccumulator:
    """Feed every snapshot sampled around one play, then call ``finish`` once.

    Snapshots with ``at_mono`` before ``started_mono`` are the "just before" window: they set each
    track's starting counters and the emotional baseline. The rest are the play itself.
    """

    play_id: str
    threshold_s: float = DEFAULT_VIEWER_THRESHOLD_S
    started_mono: float = float("-inf")
    _before: dict[int, Track] = field(default_factory=dict, init=False)
    _during: dict[int, _Running] = field(default_factory=dict, init=False)
    _known: bool = field(default=False, init=False)
    _finished: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.threshold_s < 0:
            raise ValueError(f"viewer threshold must be >= 0 seconds, got {self.threshold_s}")

    def observe(self, snapshot: AudienceSnapshot) -> None:
        if self._finished:
            raise RuntimeError(f"impression for play {self.play_id} is already finished")
        if not snapshot.known:
            return
        if snapshot.at_mono < self.started_mono:
            for track in snapshot.tracks:
                self._before[track.track_id] = track  # the latest one before the start wins
            return
        self._known = True
        for track in snapshot.tracks:
            running = self._during.get(track.track_id)
            if running is None:
                running = self._open(track)
                self._during[track.track_id] = running
            running.update(track)

    def observe_all(self, snapshots: Iterable[AudienceSnapshot]) -> None:
        for snapshot in snapshots:
            self.observe(snapshot)

    def _open(self, track: Track) -> _Running:
        ordinal = len(self._during) + 1
        before = self._before.get(track.track_id)
        if before is not None and before.dwell_s <= track.dwell_s:
            return _Running(ordinal, before.dwell_s, before.attention_s, before.dwell_s, before.attention_s)
        if track.first_seen_mono >= self.started_mono:
            # Arrived during the play: everything on its counters happened during the play.
            return _Running(ordinal, 0.0, 0.0, 0.0, 0.0)
        # Present before the start but never sampled then: count from this first sample (this
        # under-counts by at most one sampling interval, never over-counts).
        return _Running(ordinal, track.dwell_s, track.attention_s, track.dwell_s, track.attention_s)

    def finish(self) -> Impression:
        self._finished = True
        rows = tuple(self._row(r) for r in self._during.values())
        cells: dict[tuple[AgeBand, Gender], int] = {}
        for row in rows:
            if row.viewer and row.age_band is not None and row.gender is not None:
                cells[(row.age_band, row.gender)] = cells.get((row.age_band, row.gender), 0) + 1
        composition = tuple(
            CompositionCell(band, gender, cells[(band, gender)])
            for band in AgeBand
            for gender in Gender
            if (band, gender) in cells
        )
        before_moods = [h for h in (_is_happy(t) for t in self._before.values()) if h is not None]
        during_moods = [
            h for h in (_is_happy(r.last) for r in self._during.values() if r.last) if h is not None
        ]
        return Impression(
            play_id=self.play_id,
            threshold_s=self.threshold_s,
            audience_known=self._known,
            ots=len(rows),
            viewers=sum(1 for r in rows if r.viewer),
            attention_s=sum(r.attention_s for r in rows),
            dwell_s=sum(r.dwell_s for r in rows),
            possible_minors=sum(1 for r in rows if r.possible_minor),
            happy_before=sum(before_moods),
            classified_before=len(before_moods),
            happy_during=sum(during_moods),
            classified_during=len(during_moods),
            composition=composition,
            tracks=rows,
        )

    def _row(self, running: _Running) -> TrackImpression:
        last = running.last
        assert last is not None  # every _Running is updated right after it is opened
        attention = running.attention_s
        return TrackImpression(
            ordinal=running.ordinal,
            dwell_s=running.dwell_s,
            attention_s=attention,
            viewer=attention >= self.threshold_s,
            age_band=last.age_band,
            gender=last.gender,
            emotion=last.emotion,
            possible_minor=running.possible_minor,
        )


class SnapshotWindow:
    """The last ``window_s`` seconds of snapshots, so a new play can be given its "just before"."""

    def __init__(self, window_s: float = 5.0) -> None:
        if window_s <= 0:
            raise ValueError(f"snapshot window must be > 0 seconds, got {window_s}")
        self.window_s = window_s
        self._items: deque[AudienceSnapshot] = deque()

    def add(self, snapshot: AudienceSnapshot) -> None:
        self._items.append(snapshot)
        while self._items and self._items[0].at_mono < snapshot.at_mono - self.window_s:
            self._items.popleft()

    def snapshots(self) -> tuple[AudienceSnapshot, ...]:
        return tuple(self._items)
