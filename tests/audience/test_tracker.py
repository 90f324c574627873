"""The tracker on synthetic detections: ids, dwell, attention, re-entry, expiry. Pure and fast."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from classifier.types import FaceAttributes, FaceObservation
from signage.audience import Tracker, TrackerConfig
from signage.domain import AudienceSnapshot, Track

FPS = 30.0
DT = 1.0 / FPS


def face(
    cx: float, cy: float, width: float = 60.0, yaw: float | None = 0.0, pitch: float | None = 0.0
) -> FaceObservation:
    return FaceObservation(
        x=cx - width / 2, y=cy - width / 2, width=width, height=width, score=0.9, yaw_deg=yaw, pitch_deg=pitch
    )


Scene = Callable[[int], list[FaceObservation]]  # frame index -> faces in that frame


def run(
    scene: Scene, frames: int, config: TrackerConfig | None = None
) -> tuple[Tracker, list[AudienceSnapshot]]:
    tracker = Tracker(config)
    snaps = [tracker.update(scene(i), i * DT, frame_width_px=640) for i in range(frames)]
    return tracker, snaps


def ids(snapshot: AudienceSnapshot) -> list[int]:
    return [t.track_id for t in snapshot.tracks]


def track(snapshot: AudienceSnapshot, track_id: int) -> Track:
    return next(t for t in snapshot.tracks if t.track_id == track_id)


# --- scenes: each is one row of the table below --------------------------------------------------


def crossing_same_size(i: int) -> list[FaceObservation]:
    # A walks left to right, B right to left, at the same height: they meet at frame 30.
    return [face(100 + 10 * i, 240), face(700 - 10 * i, 250)]


def crossing_with_occlusion(i: int) -> list[FaceObservation]:
    # B (farther, smaller) is hidden behind A for 8 frames as they pass.
    a = face(100 + 10 * i, 240, width=80)
    b = face(700 - 10 * i, 230, width=50)
    return [a] if 26 <= i < 34 else [a, b]


def short_occlusion(i: int) -> list[FaceObservation]:
    return [] if 20 <= i < 40 else [face(320, 240)]  # 0.67 s behind a shelf


def one_face_reported_twice(i: int) -> list[FaceObservation]:
    return [face(320, 240), face(322, 241, width=58)]


def someone_else_in_place(i: int) -> list[FaceObservation]:
    # A face of a clearly different size takes the place of another at once: a different person.
    return [face(320, 240, width=60.0 if i < 15 else 95.0)]


def walking_toward_the_camera(i: int) -> list[FaceObservation]:
    return [face(320, 240, width=40.0 + 2.0 * i)]  # 40 to 98 px in one second: one person


def two_people_standing(i: int) -> list[FaceObservation]:
    return [face(150, 240), face(480, 240)]


# (name, scene, frames, expected ids in the last snapshot, expected number of ids ever issued)
CASES = [
    ("crossing paths, same size", crossing_same_size, 60, [1, 2], 2),
    ("crossing paths with occlusion", crossing_with_occlusion, 60, [1, 2], 2),
    ("short occlusion keeps the id", short_occlusion, 60, [1], 1),
    ("a face reported twice is one person", one_face_reported_twice, 30, [1], 1),
    ("two people standing", two_people_standing, 30, [1, 2], 2),
    ("someone else in place", someone_else_in_place, 30, [1, 2], 2),  # 1 stays until expiry
    ("walking toward the camera", walking_toward_the_camera, 30, [1], 1),
]


@pytest.mark.parametrize(("name", "scene", "frames", "last_ids", "issued"), CASES, ids=[c[0] for c in CASES])
def test_identity(name: str, scene: Scene, frames: int, last_ids: list[int], issued: int) -> None:
    _tracker, snaps = run(scene, frames)
    assert ids(snaps[-1]) == last_ids
    seen = {t.track_id for s in snaps for t in s.tracks}
    assert len(seen) == issued


@pytest.mark.parametrize("scene", [crossing_same_size, crossing_with_occlusion])
def test_crossing_paths_do_not_swap_ids(scene: Scene) -> None:
    tracker, _ = run(scene, 60)
    a_end, b_end = (f.center[0] for f in scene(59))
    # Track 1 started on the left (A): after the crossing it must be where A is, on the right.
    positions = {i: f.center[0] for i, f in tracker.current_faces()}
    assert positions[1] == pytest.approx(a_end)
    assert positions[2] == pytest.approx(b_end)


def test_occlusion_continues_dwell() -> None:
    _, snaps = run(short_occlusion, 60)
    only = snaps[-1].tracks[0]
    # Present for 59 frame intervals; the unseen 0.67 s count (the person stayed).
    assert only.dwell_s == pytest.approx(59 * DT, abs=1e-6)
    assert only.first_seen_mono == 0.0


def test_look_away_stops_attention_but_not_dwell() -> None:
    def scene(i: int) -> list[FaceObservation]:
        yaw = 70.0 if 30 <= i < 60 else 5.0  # turns to a shelf for one second
        return [face(320, 240, yaw=yaw)]

    _, snaps = run(scene, 90)
    during = track(snaps[59], 1)
    end = track(snaps[-1], 1)
    assert not during.watching
    assert end.watching
    assert end.dwell_s == pytest.approx(89 * DT, abs=1e-6)
    # Watching from 0 to 29 and again from 60 to 89: 29 + 29 intervals.
    assert end.attention_s == pytest.approx(58 * DT, abs=1e-6)


@pytest.mark.parametrize(
    ("yaw", "pitch", "watching"),
    [
        (0.0, 0.0, True),
        (29.0, 0.0, True),
        (-31.0, 0.0, False),
        (0.0, 19.0, True),
        (0.0, -21.0, False),
        (None, None, False),
    ],
)
def test_attention_cone(yaw: float | None, pitch: float | None, watching: bool) -> None:
    _, snaps = run(lambda i: [face(320, 240, yaw=yaw, pitch=pitch)], 10)
    assert snaps[-1].tracks[0].watching is watching
    assert snaps[-1].watching == (1 if watching else 0)


def test_attention_cone_is_configurable() -> None:
    config = TrackerConfig(attention_yaw_deg=45.0)
    _, snaps = run(lambda i: [face(320, 240, yaw=40.0)], 10, config)
    assert snaps[-1].tracks[0].watching


def test_reentry_within_window_keeps_id() -> None:
    def scene(i: int) -> list[FaceObservation]:
        # Leaves at frame 30 for 4 s (longer than the 2 s expiry), comes back near where they left.
        return [face(320, 240)] if i < 30 or i >= 150 else []

    _, snaps = run(scene, 180)
    assert ids(snaps[100]) == []  # gone from the audience while away
    assert ids(snaps[-1]) == [1]
    back = snaps[-1].tracks[0]
    # Dwell counts the time present, not the time away.
    assert back.dwell_s == pytest.approx((29 + 29) * DT, abs=1e-6)


def test_reentry_after_window_is_a_new_person() -> None:
    config = TrackerConfig(track_expiry_s=1.0, reentry_window_s=2.0)

    def scene(i: int) -> list[FaceObservation]:
        return [face(320, 240)] if i < 30 or i >= 200 else []  # away for 5.7 s > 1 + 2

    _, snaps = run(scene, 220, config)
    assert ids(snaps[-1]) == [2]


def test_reentry_elsewhere_is_a_new_person() -> None:
    def scene(i: int) -> list[FaceObservation]:
        return [face(100, 240)] if i < 30 else ([face(540, 240)] if i >= 120 else [])

    _, snaps = run(scene, 150)
    assert ids(snaps[-1]) == [2]


def test_expiry_removes_track_after_timeout() -> None:
    config = TrackerConfig(track_expiry_s=2.0)
    tracker, snaps = run(lambda i: [face(320, 240)] if i < 30 else [], 30 + 59, config)
    assert ids(snaps[-1]) == [1]  # 1.97 s unseen: still present (may be occluded)
    snap = tracker.update([], (30 + 62) * DT)
    assert ids(snap) == []  # 2.07 s: left
    assert not snap.tracks
    # And after the re-entry window it is forgotten entirely.
    tracker.update([], 60.0)
    assert not tracker.live_ids and not tracker.departed_ids


def test_single_frame_flicker_is_not_a_person() -> None:
    _, snaps = run(lambda i: [face(320, 240)] if i == 5 else [], 30)
    assert all(s.present == 0 for s in snaps)


def test_distance_from_face_size() -> None:
    _, near = run(lambda i: [face(320, 240, width=120)], 5)
    _, far = run(lambda i: [face(320, 240, width=30)], 5)
    d_near, d_far = near[-1].tracks[0].distance_m, far[-1].tracks[0].distance_m
    assert d_near is not None and d_far is not None
    assert d_far == pytest.approx(4 * d_near, rel=0.05)
    # 640 px across a 60° view: f = 554 px; a 16 cm face 120 px wide is 0.74 m away.
    assert d_near == pytest.approx(0.74, abs=0.02)


def test_time_going_backwards_is_a_clear_error() -> None:
    tracker = Tracker()
    tracker.update([face(320, 240)], 5.0)
    with pytest.raises(ValueError, match="backwards"):
        tracker.update([face(320, 240)], 4.0)


def test_invalid_box_is_ignored() -> None:
    bad = FaceObservation(x=float("nan"), y=0.0, width=10.0, height=10.0, score=0.9)
    _, snaps = run(lambda i: [bad, face(320, 240)], 5)
    assert ids(snaps[-1]) == [1]


def _attrs(p_female: float, age: float) -> FaceAttributes:
    return FaceAttributes(
        age_years=age, age_std_years=4.0, p_female=p_female, emotion_probs=(0, 0, 0, 0, 1.0, 0, 0)
    )


@pytest.mark.parametrize(
    ("returning", "ids_after"),
    [
        (_attrs(0.95, 31.0), [1]),  # the same woman came back
        (_attrs(0.60, 33.0), [1]),  # unsure: position decides
        (_attrs(0.04, 30.0), [2]),  # a man stands where she stood
        (_attrs(0.95, 62.0), [2]),  # a much older woman
    ],
)
def test_reentry_is_checked_against_the_attributes(returning: FaceAttributes, ids_after: list[int]) -> None:
    tracker = Tracker()
    for i in range(30):
        tracker.update([face(320, 240)], i * DT)
        for request in tracker.due_for_attributes(i * DT):
            tracker.add_attributes(request.track_id, _attrs(0.95, 30.0), i * DT)
    # Away for 4 s, then a face where she left.
    t = 150 * DT
    for i in range(3):
        tracker.update([face(320, 240)], t + i * DT)
    assert ids(tracker.snapshot(t + 2 * DT)) == [1]
    (request,) = tracker.due_for_attributes(t + 2 * DT)
    tracker.add_attributes(request.track_id, returning, t + 2 * DT)
    snap = tracker.update([face(320, 240)], t + 3 * DT)
    assert ids(snap) == ids_after
    if ids_after == [2]:
        newcomer = snap.tracks[0]
        assert newcomer.samples == 1 and newcomer.first_seen_mono == pytest.approx(t)
        assert newcomer.dwell_s == pytest.approx(3 * DT)
        # She can still come back later as herself.
        later = 300 * DT
        tracker.update([], later)
        assert 1 in tracker.departed_ids
