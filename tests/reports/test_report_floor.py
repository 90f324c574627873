"""Where people stand in a report: summed over the report's screens and days, drawn as a heatmap."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa

from signage.impressions.occupancy import OccupancyCell
from signage.reports import charts
from signage.reports.model import ReportFilter
from signage.reports.query import build_report
from signage.reports.render import report_charts, to_html, to_json
from signage.store import StoreWriter
from signage.store.engine import make_engine
from signage.testing.sample_plays import sample_play

UTC_TZ = ZoneInfo("UTC")
DAY = datetime(2026, 12, 3, tzinfo=UTC)
NOW = DAY + timedelta(days=2)


def fill(engine: sa.Engine) -> None:
    """Plays on s1 and s2 at 10:00 and one on s1 at 14:00, and occupancy rows around them."""
    sink = StoreWriter(engine).start()
    ten = DAY + timedelta(hours=10)
    for screen in ("s1", "s2"):
        for i in range(3):  # 10:00-10:00:28, advertisers adv-0 and adv-1
            sink.play_ended(sample_play(i, screen_id=screen, start=ten))
    other = replace(sample_play(0, screen_id="s1", start=ten + timedelta(hours=4)), advertiser="other")
    sink.play_ended(other)
    run_a, run_b = uuid.uuid4(), uuid.uuid4()
    sink.write_occupancy("s1", run_a, ten, (OccupancyCell(0, 1, 3, 120.0), OccupancyCell(-2, 4, 1, 6.0)))
    sink.write_occupancy("s1", run_b, ten, (OccupancyCell(0, 1, 2, 60.0),))  # a restart in that hour
    sink.write_occupancy("s1", run_a, ten + timedelta(hours=4), (OccupancyCell(1, 1, 2, 50.0),))
    sink.write_occupancy("s1", run_a, ten + timedelta(hours=1), (OccupancyCell(1, 1, 9, 900.0),))  # no play
    sink.write_occupancy("s2", run_a, ten, (OccupancyCell(2, 5, 4, 30.0),))
    sink.write_occupancy("s3", run_a, ten, (OccupancyCell(2, 0, 7, 70.0),))  # no plays: in no report
    assert sink.flush(10)
    sink.close()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('floor') / 'f.db'}")
    fill(engine)
    return engine


def test_the_floor_sums_runs_over_the_hours_the_reports_plays_ran(engine: sa.Engine) -> None:
    one_day = ReportFilter(screen_id="s1", date_from=DAY.date(), date_to=DAY.date())
    assert build_report(engine, one_day, UTC_TZ, now=NOW).floor == (
        OccupancyCell(-2, 4, 1, 6.0),
        OccupancyCell(0, 1, 5, 180.0),  # two runs of the same hour, summed
        OccupancyCell(1, 1, 2, 50.0),
    )
    everything = build_report(engine, ReportFilter(), UTC_TZ, now=NOW)
    # s1 and s2 played (s3 did not); 11:00 on s1 had no play.
    assert everything.floor == (
        OccupancyCell(-2, 4, 1, 6.0),
        OccupancyCell(0, 1, 5, 180.0),
        OccupancyCell(1, 1, 2, 50.0),
        OccupancyCell(2, 5, 4, 30.0),
    )


def test_an_advertiser_sees_the_floor_of_the_hours_their_ads_played_only(engine: sa.Engine) -> None:
    assert build_report(engine, ReportFilter(advertiser="other"), UTC_TZ, now=NOW).floor == (
        OccupancyCell(1, 1, 2, 50.0),
    )
    adv0 = build_report(engine, ReportFilter(advertiser="adv-0"), UTC_TZ, now=NOW).floor
    assert OccupancyCell(1, 1, 2, 50.0) not in adv0 and OccupancyCell(2, 5, 4, 30.0) in adv0
    off_day = ReportFilter(date_from=date(2026, 12, 1), date_to=date(2026, 12, 2))
    assert build_report(engine, off_day, UTC_TZ, now=NOW).floor == ()


def test_the_heatmap_appears_in_the_html_report_and_the_figures_in_json(engine: sa.Engine) -> None:
    report = build_report(engine, ReportFilter(screen_id="s1"), UTC_TZ, now=NOW)
    html = to_html(report)
    match = re.search(r'<img alt="(Where people stand[^"]*)" src="data:image/png;base64,([^"]+)"', html)
    assert match is not None
    png = base64.b64decode(match.group(2))
    assert png.startswith(b"\x89PNG")
    assert json.loads(to_json(report))["floor"] == [
        {"cell_x": -2, "cell_y": 4, "people": 1, "person_s": 6.0},
        {"cell_x": 0, "cell_y": 1, "people": 5, "person_s": 180.0},
        {"cell_x": 1, "cell_y": 1, "people": 2, "person_s": 50.0},
    ]


def test_no_floor_chart_without_occupancy(tmp_path: Path) -> None:
    sink = StoreWriter(make_engine(f"sqlite:///{tmp_path / 'e.db'}")).start()
    sink.play_ended(sample_play(0, screen_id="s9", start=DAY))
    assert sink.flush(10)
    report = build_report(sink.engine, ReportFilter(), UTC_TZ, now=NOW)
    sink.close()
    assert report.floor == ()
    assert charts.floor not in [draw for _, draw in report_charts(report)]
    assert "Where people stand" not in to_html(report)


def test_the_busiest_cell_is_the_hottest_in_the_drawing() -> None:
    cells = (OccupancyCell(0, 1, 5, 600.0), OccupancyCell(-3, 5, 1, 6.0))
    fig = charts.floor_figure(cells, "test")
    image = fig.axes[0].images[0]
    grid = np.asarray(image.get_array())
    # Rows are metres from the screen (origin at the bottom), columns -3 .. 2 m to the side.
    assert grid[1, 3] == pytest.approx(10.0)  # 600 s = 10 minutes at (0 m, 1 m)
    assert grid[5, 0] == pytest.approx(0.1)
    assert grid.sum() == pytest.approx(10.1)
    labels = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text().isdigit())
    assert labels == ["1", "5"]


@pytest.mark.postgres
def test_postgresql_gives_the_same_floor(
    engine: sa.Engine, postgres_schema: Callable[[str], AbstractContextManager[str]]
) -> None:
    with postgres_schema("test_floor") as url:
        pg = make_engine(url)
        fill(pg)
        for f in (ReportFilter(), ReportFilter(advertiser="other"), ReportFilter(screen_id="s2")):
            lite = build_report(engine, f, UTC_TZ, now=NOW).floor
            assert lite and build_report(pg, f, UTC_TZ, now=NOW).floor == lite
        pg.dispose()
