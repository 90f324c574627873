"""The report SQL on the real PostgreSQL server gives exactly the SQLite figures for the same plays."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from report_data import GeneratedDb

from signage.reports.model import ReportFilter
from signage.reports.query import build_report

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "f",
    [
        ReportFilter(),
        ReportFilter(advertiser="acme", screen_id="s1"),
        ReportFilter(campaign="run", date_from=datetime(2026, 3, 5).date()),
    ],
)
def test_postgres_and_sqlite_reports_agree(
    generated: GeneratedDb, generated_pg: GeneratedDb, f: ReportFilter
) -> None:
    tz = ZoneInfo("America/New_York")
    lite = build_report(generated.engine, f, tz, now=NOW, costs={"cola-a": 0.5})
    pg = build_report(generated_pg.engine, f, tz, now=NOW, costs={"cola-a": 0.5})
    assert lite.total.plays > 0
    for a, b in zip(pg.ads, lite.ads, strict=True):
        assert (a.ad_id, a.figures.plays, a.figures.ots, a.figures.viewers) == (
            b.ad_id,
            b.figures.plays,
            b.figures.ots,
            b.figures.viewers,
        )
        assert a.figures.attention_s == pytest.approx(b.figures.attention_s)
    assert pg.days == lite.days
    assert pg.heatmap == lite.heatmap
    assert pg.peaks == lite.peaks
    assert pg.demographics == lite.demographics
    assert [s.figures.plays for s in pg.screens] == [s.figures.plays for s in lite.screens]
    assert (pg.first_play, pg.last_play) == (lite.first_play, lite.last_play)
