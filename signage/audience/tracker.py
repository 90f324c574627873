"""The audience tracker: faces per frame in, people (tracks) out. Pure: time is passed in.

Per frame, ``update(observations, now_mono)`` matches faces to tracks by where each track is
predicted to be (constant velocity, so crossing paths keep their ids), with an optimal
assignment. A track that is not seen stays present for ``track_expiry_s`` (occlusion, a look
away); after that it has left, but for ``reentry_window_s`` a face reappearing where it left
gets the same id back. Then the track is forgotten, attributes and all.

Classification is pulled, not pushed: ``due_for_attributes`` names the faces worth classifying
now (often until a track is confident, then now and then), and ``add_attributes`` pools the
model's answers into the track.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from classifier.types import FaceAttributes, FaceObservation
from signage.audience import geometry
from signage.audience.association import assign
from signage.audience.config import TrackerConfig
from signage.audience.pooling import AttributePool, PooledAttributes, check_attributes
from signage.domain import AudienceSnapshot, Track

log = logging.getLogger(__name__)

_VELOCITY_GAIN = 0.5  # how fast the velocity estimate follows new measurements
_MAX_PREDICT_S = 0.5  # people stop: do not extrapolate a walk for long


@dataclass(frozen=True)
class AttributeRequest:
    """A face worth classifying now, and the track its answer belongs to."""

    track_id: int
    observation: FaceObservation


class _State:
    """One track's mutable state; never leaves the tracker (``Track`` is the frozen view)."""

    def __init__(self, track_id: int, obs: FaceObservation, now: float, pool: AttributePool) -> None:
        self.track_id = track_id
        self.first_seen = now
        self.last_seen = now
        self.hits = 1
        self.dwell_s = 0.0
        self.attention_s = 0.0
        self.watching = False
        self.cx, self.cy = obs.center
        self.width = obs.width
        self.smooth_width = obs.width
        self.vx = self.vy = 0.0
        self.current: FaceObservation | None = obs  # the face matched in the latest update, if any
        self.last_classified: float | None = None
        self.pool = pool
        # Set on re-entry: the track as it left, restored if the returning face proves to be someone else.
        self.before_reentry: _State | None = None

    def predict(self, now: float) -> tuple[float, float]:
        dt = min(max(0.0, now - self.last_seen), _MAX_PREDICT_S)
        return self.cx + self.vx * dt, self.cy + self.vy * dt


class Tracker:
    """Stable per-person tracks from per-frame faces. Not thread-safe: one owner calls it."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._live: dict[int, _State] = {}
        self._departed: dict[int, _State] = {}
        self._next_id = 1
        self._last_now: float | None = None
        self._frame_width: int | None = None

    # --- per frame -------------------------------------------------------------------------

    def update(
        self,
        observations: Iterable[FaceObservation],
        now_mono: float,
        frame_width_px: int | None = None,
    ) -> AudienceSnapshot:
        """Match this frame's faces to tracks and return who is present at ``now_mono``."""
        if not math.isfinite(now_mono):
            raise ValueError(f"tracker time must be a finite number, got {now_mono}")
        if self._last_now is not None and now_mono < self._last_now:
            raise ValueError(f"tracker time went backwards: {now_mono:.3f} s after {self._last_now:.3f} s")
        self._last_now = now_mono
        if frame_width_px:
            self._frame_width = frame_width_px
        faces = _deduplicate([o for o in observations if _valid(o)])
        self._expire(now_mono)
        for state in self._live.values():
            state.current = None

        cfg = self.config
        live = list(self._live.values())
        pairs = assign(
            live,
            faces,
            lambda s, o: _cost(
                s,
                o,
                s.predict(now_mono),
                cfg.max_jump_widths + cfg.gate_growth_widths_per_s * (now_mono - s.last_seen),
                _size_gate(cfg.max_frame_size_ratio, cfg.max_size_ratio, now_mono - s.last_seen),
            ),
        )
        for ti, fi in pairs:
            self._see(live[ti], faces[fi], now_mono, revived=False)
        unmatched = [faces[i] for i in sorted(set(range(len(faces))) - {fi for _, fi in pairs})]

        departed = list(self._departed.values())
        pairs = assign(
            departed,
            unmatched,
            lambda s, o: _cost(s, o, (s.cx, s.cy), cfg.reentry_jump_widths, cfg.max_size_ratio),
        )
        for ti, fi in pairs:
            state = departed[ti]
            del self._departed[state.track_id]
            state.before_reentry = None  # an unchecked earlier return is superseded, not nested
            state.before_reentry = copy.deepcopy(state)
            state.last_classified = None  # check who came back at once
            self._live[state.track_id] = state
            log.debug("track %d re-entered after %.1f s away", state.track_id, now_mono - state.last_seen)
            self._see(state, unmatched[fi], now_mono, revived=True)
        taken = {fi for _, fi in pairs}
        for i, face in enumerate(unmatched):
            if i not in taken:
                self._start(face, now_mono)
        return self.snapshot(now_mono)

    def snapshot(self, now_mono: float) -> AudienceSnapshot:
        """Who is present, without matching a new frame (e.g. after ``add_attributes``)."""
        tracks = tuple(
            self._view(s, now_mono)
            for s in sorted(self._live.values(), key=lambda s: s.track_id)
            if s.hits >= self.config.confirm_hits
        )
        return AudienceSnapshot(at_mono=now_mono, known=True, tracks=tracks)

    def current_faces(self) -> tuple[tuple[int | None, FaceObservation], ...]:
        """Each face matched in the latest update, with its track id (None: not yet a confirmed person).

        For the installer's view, which draws the boxes; the faces are this frame's, kept in memory.
        """
        return tuple(
            (s.track_id if s.hits >= self.config.confirm_hits else None, s.current)
            for s in sorted(self._live.values(), key=lambda s: s.track_id)
            if s.current is not None
        )

    @property
    def live_ids(self) -> frozenset[int]:
        """Ids of the tracks followed now, confirmed people or not (not yet a person, or unseen a moment)."""
        return frozenset(self._live)

    @property
    def departed_ids(self) -> frozenset[int]:
        """Ids of the people who left and may still come back as themselves (the re-entry window)."""
        return frozenset(self._departed)

    def end_all(self, now_mono: float) -> None:
        """The view changed (camera moved, a video cut or looped): nobody can be matched across it."""
        ended = sum(1 for s in self._live.values() if s.hits >= self.config.confirm_hits)
        if ended:
            log.info("view changed at %.2f s: %d tracks ended", now_mono, ended)
        self._live.clear()
        self._departed.clear()

    # --- classification --------------------------------------------------------------------

    def due_for_attributes(self, now_mono: float) -> tuple[AttributeRequest, ...]:
        """Faces seen in the latest update whose tracks should be classified now, neediest first."""
        cfg = self.config
        due = []
        for state in self._live.values():
            face = state.current
            if face is None or state.hits < cfg.confirm_hits or face.width < cfg.min_face_px_for_attributes:
                continue
            if face.yaw_deg is not None and abs(face.yaw_deg) > cfg.max_attribute_yaw_deg:
                continue  # a profile teaches the model little and misleads it often
            interval = cfg.reclassify_interval_s if self._confident(state) else cfg.classify_interval_s
            if state.last_classified is None or now_mono - state.last_classified >= interval:
                due.append(state)
        due.sort(key=lambda s: (s.pool.samples, s.track_id))
        return tuple(
            AttributeRequest(s.track_id, s.current) for s in due[: cfg.max_faces_per_batch] if s.current
        )

    def add_attributes(self, track_id: int, attributes: FaceAttributes, now_mono: float) -> None:
        """Pool one classification into a track; ValueError if the track is gone or the values are bad."""
        state = self._live.get(track_id) or self._departed.get(track_id)
        if state is None:
            raise ValueError(f"no track {track_id} to add attributes to (it was forgotten)")
        check_attributes(attributes)
        if state.before_reentry is not None:
            before, state.before_reentry = state.before_reentry, None
            pooled = before.pool.summary()
            if pooled is not None and not _same_person(pooled, attributes):
                state = self._split(state, before)
        state.pool.add(attributes, now_mono)
        state.last_classified = now_mono

    def _split(self, state: _State, before: _State) -> _State:
        """Position said "came back", the face says "someone else": restore the old track, start a new one."""
        self._departed[before.track_id] = before
        del self._live[state.track_id]
        state.track_id, self._next_id = self._next_id, self._next_id + 1
        state.first_seen = state.last_seen - (state.dwell_s - before.dwell_s)
        state.dwell_s -= before.dwell_s
        state.attention_s -= before.attention_s
        state.hits = max(self.config.confirm_hits, state.hits - before.hits)
        state.pool = self._new_pool()
        self._live[state.track_id] = state
        log.info("track %d did not come back: a new person, track %d", before.track_id, state.track_id)
        return state

    def _confident(self, state: _State) -> bool:
        cfg = self.config
        pooled = state.pool.summary()
        if pooled is None:
            return False
        if pooled.samples >= cfg.max_samples_to_confidence:
            return True
        gender_confidence = max(pooled.p_female, 1.0 - pooled.p_female)
        return pooled.samples >= cfg.confident_samples and gender_confidence >= cfg.confident_probability

    # --- internals -------------------------------------------------------------------------

    def _new_pool(self) -> AttributePool:
        cfg = self.config
        return AttributePool(cfg.sample_correlation, cfg.emotion_half_life_s, cfg.estimate_emotion)

    def _start(self, face: FaceObservation, now: float) -> None:
        state = _State(self._next_id, face, now, self._new_pool())
        state.watching = self._in_cone(face)
        self._next_id += 1
        self._live[state.track_id] = state

    def _see(self, state: _State, face: FaceObservation, now: float, revived: bool) -> None:
        cfg = self.config
        dt = now - state.last_seen
        cx, cy = face.center
        if not revived:
            state.dwell_s += dt  # unseen for less than the expiry: the person was there all along
            if dt > 0:
                gain = _VELOCITY_GAIN if dt <= _MAX_PREDICT_S else 1.0
                state.vx += gain * ((cx - state.cx) / dt - state.vx)
                state.vy += gain * ((cy - state.cy) / dt - state.vy)
        else:
            state.vx = state.vy = 0.0
        watching = self._in_cone(face)
        if watching and state.watching and not revived and dt <= cfg.attention_max_gap_s:
            state.attention_s += dt
        state.watching = watching
        state.cx, state.cy, state.width = cx, cy, face.width
        state.smooth_width += 0.3 * (face.width - state.smooth_width)
        state.last_seen = now
        state.hits += 1
        state.current = face

    def _in_cone(self, face: FaceObservation) -> bool:
        # Without a pose we cannot claim attention: counting it would inflate impressions.
        if face.yaw_deg is None or face.pitch_deg is None:
            return False
        cfg = self.config
        return abs(face.yaw_deg) <= cfg.attention_yaw_deg and abs(face.pitch_deg) <= cfg.attention_pitch_deg

    def _expire(self, now: float) -> None:
        cfg = self.config
        for state in list(self._live.values()):
            unseen = now - state.last_seen
            if state.hits < cfg.confirm_hits:
                if unseen > cfg.tentative_timeout_s:
                    del self._live[state.track_id]  # a flicker, not a person
            elif unseen > cfg.track_expiry_s:
                del self._live[state.track_id]
                self._departed[state.track_id] = state
                log.debug("track %d left after %.1f s dwell", state.track_id, state.dwell_s)
        for state in list(self._departed.values()):
            if now - state.last_seen > cfg.track_expiry_s + cfg.reentry_window_s:
                del self._departed[state.track_id]

    def _view(self, state: _State, now: float) -> Track:
        cfg = self.config
        pooled = state.pool.summary()
        distance = lateral = None
        if self._frame_width and state.smooth_width > 0:
            distance = geometry.distance_m(
                state.smooth_width, self._frame_width, cfg.camera_hfov_deg, cfg.face_width_m
            )
            lateral = geometry.lateral_m(state.cx, self._frame_width, cfg.camera_hfov_deg, distance)
        if pooled is None:
            possible_minor = cfg.unclassified_is_possible_minor
        else:
            possible_minor = pooled.p_minor > cfg.minor_probability_threshold
        return Track(
            track_id=state.track_id,
            first_seen_mono=state.first_seen,
            last_seen_mono=state.last_seen,
            dwell_s=state.dwell_s,
            attention_s=state.attention_s,
            watching=state.watching and now - state.last_seen <= cfg.watching_timeout_s,
            distance_m=distance,
            age_years=None if pooled is None else pooled.age_years,
            age_std_years=None if pooled is None else pooled.age_std_years,
            p_female=None if pooled is None else pooled.p_female,
            emotion_probs=None if pooled is None else pooled.emotion_probs,
            p_minor=None if pooled is None else pooled.p_minor,
            possible_minor=possible_minor,
            samples=0 if pooled is None else pooled.samples,
            lateral_m=lateral,
        )


def _same_person(pooled: PooledAttributes, sample: FaceAttributes) -> bool:
    """Could this one estimate be the pooled person? Only confident contradictions say no."""
    both_sure = abs(pooled.p_female - 0.5) >= 0.35 and abs(sample.p_female - 0.5) >= 0.35
    if both_sure and (pooled.p_female > 0.5) != (sample.p_female > 0.5):
        return False
    spread = math.hypot(pooled.age_std_years, sample.age_std_years)
    return abs(pooled.age_years - sample.age_years) <= 3.0 * max(spread, 1.0)


def _valid(face: FaceObservation) -> bool:
    values = (face.x, face.y, face.width, face.height)
    ok = all(math.isfinite(v) for v in values) and face.width > 0 and face.height > 0
    if not ok:
        log.warning("ignored a face with an invalid box: %s", face)
    return ok


def _iou(a: FaceObservation, b: FaceObservation) -> float:
    ix = max(0.0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def _deduplicate(faces: Sequence[FaceObservation], max_iou: float = 0.5) -> list[FaceObservation]:
    """One face, one observation: a detector that reports a face twice must not make two people."""
    kept: list[FaceObservation] = []
    for face in sorted(faces, key=lambda f: -f.score):
        if all(_iou(face, k) <= max_iou for k in kept):
            kept.append(face)
    return kept


def _size_gate(per_frame: float, most: float, unseen_s: float) -> float:
    """The largest size ratio allowed after ``unseen_s``: ``per_frame`` growing to ``most`` over 1 s."""
    share = min(1.0, max(0.0, unseen_s))
    return math.exp(math.log(per_frame) + share * (math.log(most) - math.log(per_frame)))


def _cost(
    state: _State, face: FaceObservation, at: tuple[float, float], gate: float, max_size_ratio: float
) -> float | None:
    """Distance from where the track should be, in face widths, plus a size mismatch; None if gated out."""
    size = abs(math.log(face.width / state.width))
    if size > math.log(max_size_ratio):
        return None
    fx, fy = face.center
    jump = math.hypot(fx - at[0], fy - at[1]) / max(state.width, face.width)
    if jump > gate:
        return None
    return jump + size
