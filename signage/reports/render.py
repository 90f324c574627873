"""Report output formats: JSON and CSV (the figures), HTML and PDF (figures plus chart images)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

import jinja2
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from signage.reports import charts
from signage.reports.model import Figures, Report

Format = Literal["json", "csv", "html", "pdf"]
FORMATS: tuple[str, ...] = ("json", "csv", "html", "pdf")

_FIGURE_FIELDS = (
    "plays",
    "known_plays",
    "ots",
    "viewers",
    "viewer_rate",
    "attention_s",
    "attention_per_viewer_s",
    "dwell_s",
    "possible_minors",
    "happy_share_before",
    "happy_share_during",
    "cost",
    "cpm_viewers",
)


def figures_dict(fig: Figures) -> dict[str, Any]:
    return {name: getattr(fig, name) for name in _FIGURE_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def report_dict(report: Report) -> dict[str, Any]:
    """The JSON document: the same figures the HTML and PDF show."""
    return {
        "title": report.title,
        "filter": {k: _plain(v) for k, v in asdict(report.filter).items()},
        "timezone": report.timezone,
        "generated_at": report.generated_at.isoformat(),
        "first_play": _plain(report.first_play),
        "last_play": _plain(report.last_play),
        "viewer_threshold_s": list(report.threshold_s),
        "total": figures_dict(report.total),
        "campaigns": [
            {"advertiser": c.advertiser, "campaign": c.campaign, **figures_dict(c.figures)}
            for c in report.campaigns
        ],
        "ads": [
            {"advertiser": a.advertiser, "campaign": a.campaign, "ad_id": a.ad_id, **figures_dict(a.figures)}
            for a in report.ads
        ],
        "screens": [{"screen_id": s.screen_id, **figures_dict(s.figures)} for s in report.screens],
        "days": [
            {"day": d.day.isoformat(), "plays": d.plays, "ots": d.ots, "viewers": d.viewers}
            for d in report.days
        ],
        "heatmap": [
            {"weekday": c.weekday, "hour": c.hour, "plays": c.plays, "viewers": c.viewers}
            for c in report.heatmap
        ],
        "peaks": [
            {"name": c.name, "weekday": c.weekday, "hour": c.hour, "viewers": c.viewers, "plays": c.plays}
            for c in report.peaks
        ],
        "demographics": [
            {"age_band": c.age_band.value, "gender": c.gender.value, "viewers": c.viewers}
            for c in report.demographics
        ],
        "floor": [asdict(c) for c in report.floor],  # where people stand: 1 m cells, counts only
    }


def to_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2)


def csv_text_cell(value: str) -> str:
    """A name as a spreadsheet reads it literally: a leading = + - @ tab or CR would start a formula,
    so such a cell gets a ' in front (OWASP CSV injection). Numbers are written as numbers, untouched."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(report: Report) -> str:
    """One row per total, campaign, ad and screen (``level`` says which), same columns for all."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["level", "advertiser", "campaign", "ad_id", "screen_id", *_FIGURE_FIELDS])

    def row(level: str, adv: str, camp: str, ad: str, screen: str, fig: Figures) -> None:
        values = figures_dict(fig)
        names = [csv_text_cell(v) for v in (adv, camp, ad, screen)]
        writer.writerow([level, *names, *("" if values[k] is None else values[k] for k in _FIGURE_FIELDS)])

    row("total", "", "", "", "", report.total)
    for c in report.campaigns:
        row("campaign", c.advertiser, c.campaign, "", "", c.figures)
    for a in report.ads:
        row("ad", a.advertiser, a.campaign, a.ad_id, "", a.figures)
    for s in report.screens:
        row("screen", "", "", "", s.screen_id, s.figures)
    return out.getvalue()


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} s"


def template_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("signage.reports", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(pct=_pct, num=_num, secs=_secs)
    return env


def report_charts(report: Report) -> list[tuple[str, Callable[[Report], Figure]]]:
    """The charts worth drawing: none for an empty report, no emotion chart when none was measured,
    no floor chart without occupancy counts."""
    if report.empty:
        return []
    return [
        (t, draw)
        for t, draw in charts.CHARTS
        if (draw is not charts.emotion or report.emotion_measured)
        and (draw is not charts.floor or report.floor)
    ]


def chart_images(report: Report) -> list[tuple[str, str]]:
    """(title, PNG data URI) per chart."""
    return [(title, charts.png_data_uri(draw(report))) for title, draw in report_charts(report)]


def to_html(report: Report) -> str:
    return template_env().get_template("report.html").render(report=report, charts=chart_images(report))


def _summary_page(report: Report) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))  # A4 portrait
    t = report.total
    lines = [
        report.title,
        "",
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC; times in {report.timezone}.",
        f"Plays from {report.first_play or '–'} to {report.last_play or '–'}.",
        "",
        f"Plays: {_num(t.plays)}   (audience measured in {_num(t.known_plays)})",
        f"Opportunities to see: {_num(t.ots)}",
        f"Viewers: {_num(t.viewers)}   viewer rate: {_pct(t.viewer_rate)}",
        f"Attention: {_secs(t.attention_s)} total, {_secs(t.attention_per_viewer_s)} per viewer",
        *(
            [f"Happy faces: {_pct(t.happy_share_before)} just before, {_pct(t.happy_share_during)} during"]
            if report.emotion_measured
            else []
        ),
        f"Possible minors present: {_num(t.possible_minors)}",
        f"Cost: {_num(t.cost, 2)}   cost per thousand viewers: {_num(t.cpm_viewers, 2)}",
        "",
        "Peak periods: " + ("; ".join(p.name for p in report.peaks) or "–"),
        "",
        "Per campaign (plays / OTS / viewers / rate / CPM):",
        *(
            f"  {c.campaign} ({c.advertiser}): {_num(c.figures.plays)} / {_num(c.figures.ots)} / "
            f"{_num(c.figures.viewers)} / {_pct(c.figures.viewer_rate)} / {_num(c.figures.cpm_viewers, 2)}"
            for c in report.campaigns[:30]
        ),
        "",
        "Viewers: people whose attention reached "
        + (", ".join(f"{s:g} s" for s in report.threshold_s) or "the threshold")
        + " during the play (definitions: docs/metrics.md).",
    ]
    fig.text(0.07, 0.95, "\n".join(lines), va="top", ha="left", fontsize=9, family="monospace", wrap=True)
    return fig


def to_pdf(report: Report) -> bytes:
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(_summary_page(report))
        for _, draw in report_charts(report):
            pdf.savefig(draw(report))
        info = pdf.infodict()
        info["Title"] = report.title
    return buffer.getvalue()


def render(report: Report, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(report).encode()
    if fmt == "csv":
        return to_csv(report).encode()
    if fmt == "html":
        return to_html(report).encode()
    if fmt == "pdf":
        return to_pdf(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
