"""Report figures from SQL against expectations computed here from the generated rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from report_data import ADS, GeneratedDb, GeneratedPlay

from signage.impressions.tables import COMPOSITION_COLUMNS
from signage.reports.model import ReportFilter
from signage.reports.query import build_report, campaigns_of

NOW = datetime(2026, 4, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
COSTS = {ad: cost for ad, (_, _, cost) in ADS.items() if cost is not None}


def total(plays: list[GeneratedPlay], key: str) -> float:
    values: list[float] = [float(p.impression[key]) for p in plays if p.impression]
    return sum(values)


def test_totals_match_the_rows(generated: GeneratedDb) -> None:
    report = build_report(generated.engine, ReportFilter(), PARIS, now=NOW, costs=COSTS)
    plays = generated.counted()
    t = report.total
    assert t.plays == len(plays)
    assert t.known_plays == sum(1 for p in plays if p.impression and p.impression["audience_known"])
    assert t.ots == total(plays, "ots")
    assert t.viewers == total(plays, "viewers")
    assert t.attention_s == pytest.approx(total(plays, "attention_s"))
    assert t.viewer_rate == pytest.approx(total(plays, "viewers") / total(plays, "ots"))
    viewers = total(plays, "viewers")
    assert t.attention_per_viewer_s == pytest.approx(total(plays, "viewer_attention_s") / viewers)
    happy = total(plays, "happy_during")
    assert t.happy_share_during == pytest.approx(happy / total(plays, "classified_during"))
    assert t.possible_minors == total(plays, "possible_minors")
    assert report.threshold_s == (1.0,)


def test_per_ad_and_campaign_figures_and_cpm(generated: GeneratedDb) -> None:
    report = build_report(generated.engine, ReportFilter(), PARIS, now=NOW, costs=COSTS)
    by_ad = {a.ad_id: a.figures for a in report.ads}
    assert set(by_ad) == set(ADS)
    for ad_id, (_, _, cost) in ADS.items():
        plays = [p for p in generated.counted() if p.ad_id == ad_id]
        assert by_ad[ad_id].plays == len(plays)
        assert by_ad[ad_id].viewers == total(plays, "viewers")
        if cost is None:
            assert by_ad[ad_id].cpm_viewers is None
        else:
            cpm = len(plays) * cost / total(plays, "viewers") * 1000
            assert by_ad[ad_id].cpm_viewers == pytest.approx(cpm)
    summer = next(c for c in report.campaigns if c.campaign == "summer").figures
    plays = [p for p in generated.counted() if p.campaign == "summer"]
    expected_cost = sum(COSTS[p.ad_id] for p in plays)
    assert summer.cost == pytest.approx(expected_cost)
    assert summer.cpm_viewers == pytest.approx(expected_cost / total(plays, "viewers") * 1000)


def test_filters_narrow_the_plays(generated: GeneratedDb) -> None:
    f = ReportFilter(advertiser="acme", screen_id="s2", date_from=date(2026, 3, 3), date_to=date(2026, 3, 9))
    report = build_report(generated.engine, f, PARIS, now=NOW)
    lo = datetime(2026, 3, 3, tzinfo=PARIS)
    hi = datetime(2026, 3, 10, tzinfo=PARIS)
    plays = [
        p
        for p in generated.counted()
        if p.advertiser == "acme" and p.screen_id == "s2" and lo <= p.started_at < hi
    ]
    assert 0 < report.total.plays == len(plays)
    assert report.total.viewers == total(plays, "viewers")
    assert {a.advertiser for a in report.ads} == {"acme"}
    assert [s.screen_id for s in report.screens] == ["s2"]
    assert report.first_play is not None and report.first_play >= lo


def test_time_series_and_heatmap_are_in_store_local_time(generated: GeneratedDb) -> None:
    report = build_report(generated.engine, ReportFilter(campaign="run"), PARIS, now=NOW)
    plays = [p for p in generated.counted() if p.campaign == "run"]
    days = Counter(p.started_at.astimezone(PARIS).date() for p in plays)
    assert {d.day: d.plays for d in report.days} == dict(days)
    local = [p.started_at.astimezone(PARIS) for p in plays]
    cells = Counter((t.weekday(), t.hour) for t in local)
    assert {(c.weekday, c.hour): c.plays for c in report.heatmap} == dict(cells)
    viewers: Counter[tuple[int, int]] = Counter()
    for p in plays:
        at = p.started_at.astimezone(PARIS)
        viewers[(at.weekday(), at.hour)] += int(p.impression["viewers"]) if p.impression else 0
    best = max(viewers.values())
    assert report.peaks[0].viewers == best
    assert (report.peaks[0].weekday, report.peaks[0].hour) in {k for k, v in viewers.items() if v == best}
    assert report.peaks[0].name.split()[0] in (
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    )


def test_demographics_sum_the_composition(generated: GeneratedDb) -> None:
    report = build_report(generated.engine, ReportFilter(advertiser="bolt"), PARIS, now=NOW)
    plays = [p for p in generated.counted() if p.advertiser == "bolt"]
    expected = {(b, g): int(total(plays, name)) for b, g, name in COMPOSITION_COLUMNS}
    assert {(c.age_band, c.gender): c.viewers for c in report.demographics} == expected
    assert sum(expected.values()) > 0


def test_a_filter_matching_nothing_gives_an_empty_report(generated: GeneratedDb) -> None:
    report = build_report(generated.engine, ReportFilter(campaign="nope"), PARIS, now=NOW)
    assert report.empty
    assert report.total.viewer_rate is None
    assert report.peaks == ()


def test_campaign_listing_is_scoped_to_the_advertiser(generated: GeneratedDb) -> None:
    assert campaigns_of(generated.engine, "acme") == (("acme", "snacks"), ("acme", "summer"))
    assert ("bolt", "run") in campaigns_of(generated.engine, None)
