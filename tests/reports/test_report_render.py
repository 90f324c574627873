"""Output formats carry the same figures; HTML and PDF hold real chart images."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from report_data import ADS, GeneratedDb

from signage.reports.model import Report, ReportFilter
from signage.reports.query import build_report
from signage.reports.render import render

COSTS = {ad: cost for ad, (_, _, cost) in ADS.items() if cost is not None}


@pytest.fixture(scope="module")
def report(generated: GeneratedDb) -> Report:
    return build_report(
        generated.engine,
        ReportFilter(advertiser="acme"),
        ZoneInfo("Europe/Paris"),
        now=datetime(2026, 4, 1, tzinfo=UTC),
        costs=COSTS,
    )


def test_json_holds_the_same_figures(report: Report) -> None:
    doc = json.loads(render(report, "json"))
    assert doc["total"]["plays"] == report.total.plays
    assert doc["total"]["viewers"] == report.total.viewers
    assert doc["total"]["cpm_viewers"] == pytest.approx(report.total.cpm_viewers)
    assert {a["ad_id"] for a in doc["ads"]} == {"cola-a", "cola-b", "chips"}
    assert doc["peaks"][0]["name"] == report.peaks[0].name
    assert sum(d["plays"] for d in doc["days"]) == report.total.plays
    assert doc["filter"]["advertiser"] == "acme"


def test_csv_rows_per_level(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(report, "csv").decode())))
    levels = [r["level"] for r in rows]
    assert levels.count("total") == 1 and levels.count("ad") == 3 and levels.count("campaign") == 2
    total = next(r for r in rows if r["level"] == "total")
    assert int(total["viewers"]) == report.total.viewers
    chips = next(r for r in rows if r["ad_id"] == "chips")
    assert chips["cpm_viewers"] == ""  # no cost in the catalog: no CPM, not zero


def test_html_embeds_png_charts_and_the_figures(report: Report) -> None:
    html = render(report, "html").decode()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 5
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert f'id="kpi-viewers">{report.total.viewers:,}<' in html
    assert report.peaks[0].name in html


def test_html_escapes_names_from_the_database(generated: GeneratedDb) -> None:
    report = build_report(
        generated.engine,
        ReportFilter(campaign="<script>x</script>"),
        ZoneInfo("UTC"),
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )
    html = render(report, "html").decode()
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "No plays match" in html


def test_pdf_has_a_summary_page_and_one_page_per_chart(report: Report) -> None:
    pdf = render(report, "pdf")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 6


def test_unknown_format_is_refused_in_words(report: Report) -> None:
    with pytest.raises(ValueError, match="unknown report format 'xls'"):
        render(report, "xls")


def test_a_report_date_out_of_range_is_refused_in_one_sentence(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from signage.cli import app

    with pytest.raises(ValueError, match="between 2000-01-01 and 2099-12-31"):
        ReportFilter(date_from=date(1, 1, 1))
    result = CliRunner().invoke(app, ["report", "--from", "0001-01-01", "--format", "json"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich draws a box around it
    assert "0001-01-01 is not between 2000-01-01 and 2099-12-31" in words
