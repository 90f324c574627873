"""Where people stand: the floor grid per hour (pure), its observer, and the table through the writer."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from classifier.types import FaceObservation
from signage.audience.tracker import Tracker
from signage.clock import FakeClock
from signage.domain import AudienceSnapshot, PlayOutcome, Track
from signage.impressions.occupancy import (
    OccupancyAccumulator,
    OccupancyCell,
    OccupancyObserver,
    cell_of,
    hour_of,
)
from signage.impressions.occupancy_table import OCCUPANCY
from signage.store import StoreWriter
from signage.store.engine import make_engine
from signage.store.migrate import downgrade, upgrade
from signage.testing.sample_plays import sample_play

H0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def person(track_id: int, lateral: float | None, depth: float | None) -> Track:
    return Track(track_id, 0.0, 0.0, 0.0, 0.0, False, distance_m=depth, lateral_m=lateral)


def snap(at: float, *tracks: Track) -> AudienceSnapshot:
    return AudienceSnapshot(at_mono=at, known=True, tracks=tracks)


def test_cells_are_one_metre_squares_on_the_six_by_six_grid() -> None:
    assert cell_of(0.2, 2.5) == (0, 2)
    assert cell_of(-0.2, 0.1) == (-1, 0)
    assert cell_of(-3.0, 5.99) == (-3, 5)
    assert cell_of(2.99, 0.0) == (2, 0)
    assert cell_of(3.0, 1.0) is None  # the grid ends at 3 m to the side
    assert cell_of(0.0, 6.0) is None  # and 6 m deep
    assert cell_of(-3.01, 1.0) is None
    assert cell_of(float("nan"), 1.0) is None


def test_a_standing_person_counts_once_with_their_seconds_and_a_walker_once_per_cell() -> None:
    acc = OccupancyAccumulator()
    t0 = H0 + timedelta(minutes=5)
    for i in range(9):  # 4 s at 0.5 s samples
        walker_x = -2.5 + i * 0.5  # crosses cells -3 .. 1
        acc.add(snap(100.0 + 0.5 * i, person(1, 0.4, 2.2), person(2, walker_x, 1.5)), t0)
    cells = {(c.cell_x, c.cell_y): c for c in acc.cells(H0)}
    assert cells[(0, 2)].people == 1
    assert cells[(0, 2)].person_s == pytest.approx(4.0)
    walked = sorted(k for k in cells if k[1] == 1)
    assert walked == [(-3, 1), (-2, 1), (-1, 1), (0, 1), (1, 1)]
    assert all(cells[k].people == 1 for k in walked)
    assert sum(cells[k].person_s for k in walked) == pytest.approx(4.0)  # the first sample has no duration


def test_people_without_a_position_off_the_grid_or_an_unknown_audience_are_not_placed() -> None:
    acc = OccupancyAccumulator()
    acc.add(snap(1.0, person(1, None, None), person(2, 0.0, 8.0)), H0)
    acc.add(AudienceSnapshot.unknown(1.5), H0)
    assert acc.cells(H0) == ()
    # After a blind spell the first sample is not credited with the time the camera was away.
    acc.add(snap(2.0, person(3, 0.0, 1.0)), H0)
    acc.add(snap(2.5, person(3, 0.0, 1.0)), H0)
    assert acc.cells(H0) == (OccupancyCell(0, 1, 1, 0.5),)


def test_long_gaps_are_not_credited_and_hours_are_kept_apart() -> None:
    acc = OccupancyAccumulator(max_gap_s=2.0)
    acc.add(snap(10.0, person(1, 0.0, 1.0)), H0 + timedelta(minutes=59, seconds=59))
    acc.add(snap(10.5, person(1, 0.0, 1.0)), H0 + timedelta(hours=1))
    acc.add(snap(30.0, person(1, 0.0, 1.0)), H0 + timedelta(hours=1, seconds=20))  # 19.5 s gap
    assert acc.hours() == (H0, H0 + timedelta(hours=1))
    assert acc.cells(H0) == (OccupancyCell(0, 1, 1, 0.0),)
    assert acc.cells(H0 + timedelta(hours=1)) == (OccupancyCell(0, 1, 1, 0.5),)
    acc.forget(H0)
    assert acc.hours() == (H0 + timedelta(hours=1),)


def test_what_leaves_the_accumulator_names_nobody() -> None:
    assert [f.name for f in dataclasses.fields(OccupancyCell)] == ["cell_x", "cell_y", "people", "person_s"]
    assert set(OCCUPANCY.c.keys()) == {
        "screen_id", "hour", "run_id", "cell_x", "cell_y", "people", "person_s", "sync_seq",
    }  # fmt: skip


def test_hours_are_utc_and_need_a_time_zone() -> None:
    local = datetime(2026, 12, 3, 11, 30, tzinfo=UTC).astimezone(tz=None)
    assert hour_of(local) == datetime(2026, 12, 3, 11, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        hour_of(datetime(2026, 12, 3, 11, 30))


def test_the_tracker_places_a_face_to_the_side_and_in_depth() -> None:
    """A 64 px face at the right third of a 640 px frame, 60 degree view: ~1.44 m away, ~0.46 m right."""
    tracker = Tracker()
    snapshot = None
    for i in range(4):
        face = FaceObservation(x=448.0, y=200.0, width=64.0, height=64.0, score=0.9)
        snapshot = tracker.update([face], float(i) * 0.1, frame_width_px=640)
    assert snapshot is not None and snapshot.tracks
    track = snapshot.tracks[0]
    assert track.distance_m is not None
    assert track.distance_m == pytest.approx(554.256 * 0.16 / 64, rel=1e-3)
    assert track.lateral_m == pytest.approx((480 - 320) / 554.256 * track.distance_m, rel=1e-3)


class MemorySink:
    def __init__(self) -> None:
        self.writes: list[tuple[str, uuid.UUID, datetime, tuple[OccupancyCell, ...]]] = []

    def write_occupancy(
        self, screen_id: str, run_id: uuid.UUID, hour: datetime, cells: tuple[OccupancyCell, ...]
    ) -> None:
        self.writes.append((screen_id, run_id, hour, cells))


def test_the_observer_writes_every_minute_when_the_hour_turns_and_when_stopped() -> None:
    sink, clock = MemorySink(), FakeClock(start=0.0, start_utc=H0 + timedelta(minutes=58))
    observer = OccupancyObserver(sink, "screen-1", clock.now_utc, clock.monotonic)
    for _ in range(100):  # 50 s: no write yet
        clock.advance(0.5)
        observer.audience_sample(snap(clock.monotonic(), person(7, 0.5, 2.5)))
    assert sink.writes == []
    for _ in range(40):  # past the minute: one write of the hour so far
        clock.advance(0.5)
        observer.audience_sample(snap(clock.monotonic(), person(7, 0.5, 2.5)))
    assert [(w[2], w[3][0].people) for w in sink.writes] == [(H0, 1)]
    first = sink.writes[0][3][0].person_s
    assert first == pytest.approx(30.0 + 30.0 - 0.5, abs=0.6)
    for _ in range(4 * 60):  # two minutes more: the hour turns at 11:00
        clock.advance(0.5)
        observer.audience_sample(snap(clock.monotonic(), person(7, 0.5, 2.5)))
    hours = [w[2] for w in sink.writes]
    assert H0 in hours and H0 + timedelta(hours=1) in hours
    final_h0 = [w for w in sink.writes if w[2] == H0][-1][3][0]
    assert final_h0.person_s == pytest.approx(120.0 - 0.5, abs=0.6)  # 10:58:00 .. 11:00:00
    assert {w[1] for w in sink.writes} == {observer.run_id}
    before = len(sink.writes)
    clock.advance(0.5)
    stopped = dataclasses.replace(sample_play(1), outcome=PlayOutcome.INTERRUPTED)
    observer.play_ended(stopped, snap(clock.monotonic(), person(7, 0.5, 2.5)))
    assert len(sink.writes) == before + 1
    assert sink.writes[-1][2] == H0 + timedelta(hours=1)


def test_occupancy_round_trips_through_the_writer_as_an_overwrite(tmp_path: Path) -> None:
    sink = StoreWriter(make_engine(f"sqlite:///{tmp_path / 's.db'}"), screen_id="screen-1").start()
    run, other_run = uuid.uuid4(), uuid.uuid4()
    sink.write_occupancy("screen-1", run, H0, (OccupancyCell(0, 2, 1, 3.5), OccupancyCell(-1, 1, 2, 1.0)))
    assert sink.flush(10)
    sink.write_occupancy("screen-1", run, H0, (OccupancyCell(0, 2, 2, 9.0), OccupancyCell(-1, 1, 2, 1.0)))
    sink.write_occupancy("screen-1", other_run, H0, (OccupancyCell(0, 2, 1, 2.0),))  # a restart
    sink.write_occupancy("screen-1", run, H0.replace(minute=5), (OccupancyCell(0, 0, 1, 1.0),))  # refused
    assert sink.flush(10)
    with sink.engine.connect() as conn:
        rows = conn.execute(
            sa.select(OCCUPANCY.c.run_id, OCCUPANCY.c.hour, OCCUPANCY.c.cell_x, OCCUPANCY.c.cell_y,
                      OCCUPANCY.c.people, OCCUPANCY.c.person_s)
        ).all()  # fmt: skip
        seqs = conn.execute(sa.select(OCCUPANCY.c.sync_seq)).scalars().all()
    assert sorted((r.run_id == run, r.cell_x, r.cell_y, r.people, r.person_s) for r in rows) == [
        (False, 0, 2, 1, 2.0),
        (True, -1, 1, 2, 1.0),
        (True, 0, 2, 2, 9.0),
    ]
    assert all(r.hour == H0 for r in rows)
    assert all(s is not None for s in seqs)  # shipped by the fleet sync
    assert sink.stats().rejected == 1
    sink.close()


def test_migration_0005_creates_and_removes_the_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    inspector = sa.inspect(engine)
    columns = {c["name"]: c["nullable"] for c in inspector.get_columns("occupancy")}
    assert columns == {c.name: (c.nullable and not c.primary_key) for c in OCCUPANCY.columns}
    assert inspector.get_pk_constraint("occupancy")["constrained_columns"] == [
        c.name for c in OCCUPANCY.primary_key.columns
    ]
    assert {i["name"] for i in inspector.get_indexes("occupancy")} == {i.name for i in OCCUPANCY.indexes}
    downgrade(engine, "0004_web_sessions")
    assert "occupancy" not in sa.inspect(engine).get_table_names()


def test_an_occupancy_record_survives_the_journal(tmp_path: Path) -> None:
    """While the database is away, the hour's totals wait in the journal and are replayed at the next start."""
    from signage.store.journal import Journal

    db = tmp_path / "s.db"
    journal = Journal(tmp_path / "journal")
    away = StoreWriter(make_engine(f"sqlite:///{tmp_path / 'missing' / 's.db'}"), journal=journal)
    run = uuid.uuid4()
    away.write_occupancy("screen-1", run, H0, (OccupancyCell(-1, 3, 2, 7.5),))
    away.close(timeout_s=0.5)  # never started: the record is in the journal only
    sink = StoreWriter(make_engine(f"sqlite:///{db}"), journal=Journal(tmp_path / "journal")).start()
    assert sink.flush(10)
    with sink.engine.connect() as conn:
        rows = conn.execute(sa.select(OCCUPANCY.c.run_id, OCCUPANCY.c.hour, OCCUPANCY.c.person_s)).all()
    assert rows == [(run, H0, 7.5)]
    assert sink.stats().replayed == 1
    sink.close()
