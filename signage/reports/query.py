"""Report figures, aggregated in SQL (plays LEFT JOIN impressions), never by looping over rows.

One statement serves a whole report: the filtered plays, joined to their impressions, are read
once (a materialised CTE) and grouped three ways: per ad (every sum and the composition columns),
per UTC hour (folded into store-local days and a weekday x hour heatmap in Python, over at most
24 rows per day), and per screen. Filters use the store's indexes on play.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from signage.domain import ALERT_PREFIX, PlayOutcome
from signage.impressions.tables import COMPOSITION_COLUMNS, IMPRESSION
from signage.reports.model import (
    AdFigures,
    CampaignFigures,
    DayFigures,
    DemographicCell,
    Figures,
    HeatCell,
    Report,
    ReportFilter,
    ScreenFigures,
)
from signage.reports.occupancy import floor_cells
from signage.store.models import PLAY

# A skipped ad never reached the screen, and an open play may still be cut short: neither counts.
# An emergency alert's display (outcome ``alert``) is no ad and is never billed.
COUNTED_OUTCOMES = (PlayOutcome.COMPLETED.value, PlayOutcome.INTERRUPTED.value)
PEAK_COUNT = 3

_I = IMPRESSION.c
_P = PLAY.c


def counted() -> sa.ColumnElement[bool]:
    """The plays reports count: ads that reached the screen. An alert's play is left out by its
    ad id too, for one a crash left open and start-up repair closed as interrupted."""
    return sa.and_(
        _P.outcome.in_(COUNTED_OUTCOMES), sa.not_(_P.ad_id.startswith(ALERT_PREFIX, autoescape=True))
    )


def _sum(col: Any, label: str) -> sa.Label[Any]:
    return sa.func.coalesce(sa.func.sum(col), 0).label(label)


def _figures(m: Any) -> Figures:
    return Figures(
        plays=int(m["plays"]),
        known_plays=int(m["known_plays"]),
        ots=int(m["ots"]),
        viewers=int(m["viewers"]),
        attention_s=float(m["attention_s"]),
        viewer_attention_s=float(m["viewer_attention_s"]),
        dwell_s=float(m["dwell_s"]),
        possible_minors=int(m["possible_minors"]),
        happy_before=int(m["happy_before"]),
        classified_before=int(m["classified_before"]),
        happy_during=int(m["happy_during"]),
        classified_during=int(m["classified_during"]),
    )


def local_day_bounds(f: ReportFilter, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start, end) of the filter's store-local dates (``to`` is inclusive)."""
    start = None
    end = None
    if f.date_from is not None:
        start = datetime.combine(f.date_from, time.min, tzinfo=tz).astimezone(UTC)
    if f.date_to is not None:
        end = datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


def where_clause(f: ReportFilter, tz: ZoneInfo) -> sa.ColumnElement[bool]:
    conds: list[sa.ColumnElement[bool]] = [counted()]
    for col, value in (
        (_P.advertiser, f.advertiser),
        (_P.campaign, f.campaign),
        (_P.ad_id, f.ad_id),
        (_P.screen_id, f.screen_id),
    ):
        if value is not None:
            conds.append(col == value)
    start, end = local_day_bounds(f, tz)
    if start is not None:
        conds.append(_P.started_at >= start)
    if end is not None:
        conds.append(_P.started_at < end)
    return sa.and_(*conds)


def _joined() -> sa.Join:
    return PLAY.outerjoin(IMPRESSION, _I.play_id == _P.play_id)


def _hour_bucket(dialect: str) -> sa.ColumnElement[str]:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H", _P.started_at)
    return sa.func.to_char(sa.func.timezone("UTC", _P.started_at), "YYYY-MM-DD HH24")


@dataclass(frozen=True)
class _Scans:
    ads: tuple[AdFigures, ...]
    demographics: tuple[DemographicCell, ...]
    hours: tuple[tuple[datetime, int, int, int], ...]  # UTC hour, plays, ots, viewers
    screens: tuple[ScreenFigures, ...]
    first: datetime | None
    last: datetime | None
    thresholds: tuple[float, ...]


def _filtered(dialect: str, where: sa.ColumnElement[bool]) -> sa.CTE:
    """The report's plays joined to their impressions, read once and shared by every grouping."""
    cols = [
        _P.advertiser,
        _P.campaign,
        _P.ad_id,
        _P.screen_id,
        _P.started_at,
        _hour_bucket(dialect).label("bucket"),
        sa.case((_I.audience_known.is_(True), 1), else_=0).label("known"),
        _I.threshold_s,
        *(_I[name] for name in _SUMMED),
        *(_I[name] for _, _, name in COMPOSITION_COLUMNS),
    ]
    return sa.select(*cols).select_from(_joined()).where(where).cte("f").prefix_with("MATERIALIZED")


_SUMMED = (
    "ots",
    "viewers",
    "attention_s",
    "viewer_attention_s",
    "dwell_s",
    "possible_minors",
    "happy_before",
    "classified_before",
    "happy_during",
    "classified_during",
)


def _aggregates(f: sa.CTE, level: str) -> list[sa.Label[Any]]:
    """The same columns at every level (for the UNION); each level sums only what it reports."""
    wanted = {
        "ad": None,  # everything
        "screen": {"plays", "known_plays", *_SUMMED},
        "hour": {"plays", "ots", "viewers"},
    }[level]
    cols = [
        sa.func.count().label("plays"),
        _sum(f.c.known, "known_plays"),
        *(_sum(f.c[name], name) for name in _SUMMED),
        *(_sum(f.c[name], name) for _, _, name in COMPOSITION_COLUMNS),
        sa.func.min(f.c.started_at).label("first"),
        sa.func.max(f.c.started_at).label("last"),
        sa.func.min(f.c.threshold_s).label("threshold_min"),
        sa.func.max(f.c.threshold_s).label("threshold_max"),
    ]
    # Every aggregate costs a call per row; the hour grouping alone would otherwise triple the work.
    return [c if wanted is None or c.name in wanted else sa.null().label(c.name) for c in cols]


def _scan(conn: sa.Connection, f: ReportFilter, tz: ZoneInfo, costs: Mapping[str, float]) -> _Scans:
    rows = _filtered(conn.dialect.name, where_clause(f, tz))
    blank: sa.ColumnClause[str] = sa.literal_column("''")
    # One statement, three groupings over the same materialised rows (kind: ad, hour, screen).
    query = sa.union_all(
        sa.select(
            sa.literal_column("'a'").label("kind"),
            rows.c.advertiser.label("k1"),
            rows.c.campaign.label("k2"),
            rows.c.ad_id.label("k3"),
            *_aggregates(rows, "ad"),
        ).group_by(rows.c.advertiser, rows.c.campaign, rows.c.ad_id),
        sa.select(sa.literal_column("'h'"), rows.c.bucket, blank, blank, *_aggregates(rows, "hour")).group_by(
            rows.c.bucket
        ),
        sa.select(
            sa.literal_column("'s'"), rows.c.screen_id, blank, blank, *_aggregates(rows, "screen")
        ).group_by(rows.c.screen_id),
    )
    result = conn.execute(query).mappings().all()
    ad_rows = sorted((m for m in result if m["kind"] == "a"), key=lambda m: (m["k1"], m["k2"], m["k3"]))
    ads = tuple(
        AdFigures(m["k1"], m["k2"], m["k3"], _figures(m).with_cost(costs.get(m["k3"]))) for m in ad_rows
    )
    demographics = tuple(
        DemographicCell(band, gender, sum(int(m[name]) for m in ad_rows))
        for band, gender, name in COMPOSITION_COLUMNS
    )
    hours = tuple(
        (
            datetime.fromisoformat(f"{m['k1']}:00").replace(tzinfo=UTC),
            int(m["plays"]),
            int(m["ots"]),
            int(m["viewers"]),
        )
        for m in result
        if m["kind"] == "h"
    )
    screens = tuple(
        ScreenFigures(m["k1"], _figures(m))
        for m in sorted((m for m in result if m["kind"] == "s"), key=lambda m: m["k1"])
    )
    thresholds = sorted(
        {float(m[k]) for m in ad_rows for k in ("threshold_min", "threshold_max") if m[k] is not None}
    )
    firsts = [_as_utc(m["first"]) for m in ad_rows]
    lasts = [_as_utc(m["last"]) for m in ad_rows]
    return _Scans(
        ads,
        demographics,
        hours,
        screens,
        min(firsts, default=None),
        max(lasts, default=None),
        tuple(thresholds),
    )


def _as_utc(value: Any) -> datetime:
    # min()/max() lose the column type in SQLite, so the text comes back raw.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _campaigns(ads: tuple[AdFigures, ...]) -> tuple[CampaignFigures, ...]:
    totals: dict[tuple[str, str], Figures] = {}
    for ad in ads:
        key = (ad.advertiser, ad.campaign)
        totals[key] = totals.get(key, Figures()) + ad.figures
    return tuple(CampaignFigures(a, c, fig) for (a, c), fig in sorted(totals.items()))


def _fold_hours(
    hours: tuple[tuple[datetime, int, int, int], ...], tz: ZoneInfo
) -> tuple[tuple[DayFigures, ...], tuple[HeatCell, ...]]:
    days: dict[Any, list[int]] = {}
    cells: dict[tuple[int, int], list[int]] = {}
    for at, plays, ots, viewers in hours:
        local = at.astimezone(tz)
        day = days.setdefault(local.date(), [0, 0, 0])
        day[0] += plays
        day[1] += ots
        day[2] += viewers
        cell = cells.setdefault((local.weekday(), local.hour), [0, 0])
        cell[0] += plays
        cell[1] += viewers
    day_figs = tuple(DayFigures(d, p, o, v) for d, (p, o, v) in sorted(days.items()))
    heat = tuple(HeatCell(wd, h, p, v) for (wd, h), (p, v) in sorted(cells.items()))
    return day_figs, heat


def peaks(heat: tuple[HeatCell, ...], count: int = PEAK_COUNT) -> tuple[HeatCell, ...]:
    """The busiest weekday x hour cells by viewers, then plays; empty cells never count."""
    busy = (c for c in heat if c.viewers > 0)
    ranked = sorted(busy, key=lambda c: (-c.viewers, -c.plays, c.weekday, c.hour))
    return tuple(ranked[:count])


def build_report(
    engine: sa.Engine,
    f: ReportFilter,
    tz: ZoneInfo,
    *,
    now: datetime,
    costs: Mapping[str, float] | None = None,
    title: str | None = None,
) -> Report:
    """Every figure of one report; ``costs`` maps ad_id to the catalog's cost_per_play."""
    with engine.connect() as conn:
        scans = _scan(conn, f, tz, costs or {})
        # Where people stood on the screens, in the hours, that the report's plays ran.
        floor = floor_cells(conn, where_clause(f, tz)) if scans.first is not None else ()
    days, heat = _fold_hours(scans.hours, tz)
    total = sum((a.figures for a in scans.ads), Figures())
    return Report(
        title=title or f"Audience report: {f.describe()}",
        filter=f,
        timezone=str(tz),
        generated_at=now,
        first_play=scans.first,
        last_play=scans.last,
        total=total,
        campaigns=_campaigns(scans.ads),
        ads=scans.ads,
        screens=scans.screens,
        days=days,
        heatmap=heat,
        peaks=peaks(heat),
        demographics=scans.demographics,
        threshold_s=scans.thresholds,
        floor=floor,
    )


def campaign_exists(engine: sa.Engine, campaign: str, advertiser: str | None) -> bool:
    """Whether ``campaign`` has a counted play (of ``advertiser``, unless None); one index probe."""
    query = sa.select(_P.play_id).where(_P.campaign == campaign, counted())
    if advertiser is not None:
        query = query.where(_P.advertiser == advertiser)
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def campaigns_of(engine: sa.Engine, advertiser: str | None) -> tuple[tuple[str, str], ...]:
    """(advertiser, campaign) pairs with at least one counted play; ``None``: every advertiser."""
    query = sa.select(_P.advertiser, _P.campaign).distinct().where(counted())
    if advertiser is not None:
        query = query.where(_P.advertiser == advertiser)
    with engine.connect() as conn:
        return tuple((a, c) for a, c in conn.execute(query.order_by(_P.advertiser, _P.campaign)))


def tune_for_reports(engine: sa.Engine) -> sa.Engine:
    """Let SQLite map the file and cache more pages: a campaign's plays are spread over the whole file."""
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _read_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA mmap_size=4294967296")  # 4 GiB of address space, not memory
            cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

    return engine
