"""Report charts drawn with matplotlib's object API (no pyplot: safe inside the web server's threads)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from signage.domain import AgeBand, Gender
from signage.impressions.occupancy import CELL_M, DEPTH_CELLS, LATERAL_CELLS, OccupancyCell
from signage.reports.model import WEEKDAYS, Report

_BLUE = "#2f6db5"
_ORANGE = "#e08a2c"
_GREY = "#9aa5b1"


def _figure(width: float = 8.0, height: float = 3.6) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def over_time(report: Report) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    days = np.array([d.day for d in report.days], dtype="datetime64[D]")
    ax.bar(days, [d.plays for d in report.days], color=_GREY, label="plays")
    ax.plot(days, [d.viewers for d in report.days], color=_BLUE, marker="o", markersize=3, label="viewers")
    ax.plot(
        days, [d.ots for d in report.days], color=_ORANGE, linewidth=1, marker="s", markersize=3,
        label="opportunities to see",
    )  # fmt: skip
    ax.set_title("Plays, opportunities to see and viewers per day")
    ax.set_ylabel("count per day")
    ax.legend(loc="upper left", fontsize=8)
    if len(days):
        # Whole days on the axis, with a day of margin, so one or two days do not read as hours.
        import matplotlib.dates as mdates

        one_day = np.timedelta64(1, "D")
        ax.set_xlim(days.min() - one_day, days.max() + one_day)
        span_days = int((days.max() - days.min()) / one_day) + 2
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, span_days // 8)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    return fig


def heatmap(report: Report) -> Figure:
    grid = np.zeros((7, 24))
    for cell in report.heatmap:
        grid[cell.weekday, cell.hour] = cell.viewers
    fig = _figure(height=3.4)
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(7), [w[:3] for w in WEEKDAYS])
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel(f"hour of day ({report.timezone})")
    for rank, peak in enumerate(report.peaks, start=1):
        ax.text(
            peak.hour,
            peak.weekday,
            str(rank),
            ha="center",
            va="center",
            color=_ORANGE,
            fontsize=10,
            fontweight="bold",
        )
    ax.set_title("Viewers by weekday and hour (numbers mark the peaks)")
    fig.colorbar(image, ax=ax, label="viewers")
    return fig


def demographics(report: Report) -> Figure:
    counts = {(c.age_band, c.gender): c.viewers for c in report.demographics}
    bands = list(AgeBand)
    y = np.arange(len(bands))
    fig = _figure(height=3.6)
    ax = fig.add_subplot()
    female = [counts.get((b, Gender.FEMALE), 0) for b in bands]
    male = [counts.get((b, Gender.MALE), 0) for b in bands]
    ax.barh(y - 0.2, female, height=0.4, color=_ORANGE, label="female")
    ax.barh(y + 0.2, male, height=0.4, color=_BLUE, label="male")
    ax.set_yticks(y, [b.value for b in bands])
    ax.invert_yaxis()
    ax.set_xlabel("viewers (classified)")
    ax.set_title("Viewers by age band and gender")
    ax.legend(fontsize=8)
    return fig


def per_ad(report: Report) -> Figure:
    ads = report.ads[:20]
    fig = _figure(height=max(2.5, 0.45 * len(ads) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(ads))
    ax.barh(y - 0.2, [a.figures.ots for a in ads], height=0.4, color=_GREY, label="opportunities to see")
    ax.barh(y + 0.2, [a.figures.viewers for a in ads], height=0.4, color=_BLUE, label="viewers")
    ax.set_yticks(y, [f"{a.ad_id} ({a.campaign})" for a in ads])
    ax.invert_yaxis()
    for i, ad in enumerate(ads):
        rate = ad.figures.viewer_rate
        if rate is not None:
            ax.text(ad.figures.viewers, i + 0.2, f" {rate:.0%}", va="center", fontsize=8)
    ax.set_title("Opportunities to see and viewers per ad (viewer rate)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def emotion(report: Report) -> Figure:
    rows = [c for c in report.campaigns if c.figures.classified_during or c.figures.classified_before]
    fig = _figure(height=max(2.5, 0.5 * len(rows) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    before = [100 * (c.figures.happy_share_before or 0.0) for c in rows]
    during = [100 * (c.figures.happy_share_during or 0.0) for c in rows]
    ax.barh(y - 0.2, before, height=0.4, color=_GREY, label="just before the ad")
    ax.barh(y + 0.2, during, height=0.4, color=_ORANGE, label="during the ad")
    ax.set_yticks(y, [c.campaign for c in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of classified faces looking happy")
    ax.set_title("Emotional response per campaign")
    ax.legend(fontsize=8)
    return fig


def floor_figure(cells: Sequence[OccupancyCell], title: str) -> Figure:
    """The floor grid seen from above, the screen along the bottom edge (you stand behind it):
    colour is minutes of presence, the number in a cell how many people stood there (once per hour)."""
    xs, ys = list(LATERAL_CELLS), list(DEPTH_CELLS)
    minutes = np.zeros((len(ys), len(xs)))
    people = np.zeros((len(ys), len(xs)), dtype=int)
    for c in cells:
        if c.cell_x in LATERAL_CELLS and c.cell_y in DEPTH_CELLS:
            minutes[ys.index(c.cell_y), xs.index(c.cell_x)] = c.person_s / 60.0
            people[ys.index(c.cell_y), xs.index(c.cell_x)] = c.people
    fig = _figure(width=6.4, height=5.2)
    ax = fig.add_subplot()
    extent = (xs[0] * CELL_M, (xs[-1] + 1) * CELL_M, ys[0] * CELL_M, (ys[-1] + 1) * CELL_M)
    image = ax.imshow(minutes, origin="lower", extent=extent, cmap="YlOrRd", interpolation="nearest")
    for row, y in enumerate(ys):
        for col, x in enumerate(xs):
            if people[row, col]:
                hot = minutes[row, col] > 0.6 * max(float(minutes.max()), 1e-9)
                ax.text(x + 0.5, y + 0.5, str(people[row, col]), ha="center", va="center", fontsize=9,
                        color="white" if hot else "black")  # fmt: skip
    ax.grid(color="white", linewidth=0.8)  # the ticks are whole metres: the lines are the cells
    ax.axhline(0, color=_BLUE, linewidth=6)
    ax.text(0, 0.08, "screen", ha="center", va="bottom", color=_BLUE, fontsize=9)
    ax.set_xlabel("metres to the side (left and right as the camera sees them)")
    ax.set_ylabel("metres from the screen")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="minutes of presence")
    return fig


def floor(report: Report) -> Figure:
    return floor_figure(report.floor, "Where people stand (numbers: people per cell and hour)")


CHARTS = (
    ("Viewers over time", over_time),
    ("Day x hour", heatmap),
    ("Per ad", per_ad),
    ("Audience", demographics),
    ("Emotional response", emotion),
    ("Where people stand in the hours these plays ran (1 m cells, counts only)", floor),
)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def png_data_uri(fig: Figure) -> str:
    return "data:image/png;base64," + base64.b64encode(png(fig)).decode("ascii")
