"""Where people stand, for reports and the dashboard: the ``occupancy`` table summed in SQL.

The table holds counts per screen, UTC hour, player run and floor cell. A report sums the cells of
the (screen, hour) pairs in which its plays ran, so a campaign's report shows where people stood
while that campaign was on the screen's programme, and an advertiser never sees the floor of hours
in which none of their ads played. ``people`` summed over hours counts a person once per hour and
cell.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from signage.impressions.occupancy import OccupancyCell
from signage.impressions.occupancy_table import OCCUPANCY
from signage.store.models import PLAY

_O = OCCUPANCY.c


def _hour_text(column: Any, dialect: str) -> sa.ColumnElement[str]:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H", column)
    return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD HH24")


def floor_cells(conn: sa.Connection, plays: sa.ColumnElement[bool]) -> tuple[OccupancyCell, ...]:
    """Cell totals over the (screen, UTC hour) pairs of the plays that ``plays`` (a WHERE on play) selects."""
    dialect = conn.dialect.name
    hours = (
        sa.select(PLAY.c.screen_id, _hour_text(PLAY.c.started_at, dialect).label("hour"))
        .where(plays)
        .distinct()
        .subquery()
    )
    query = (
        sa.select(
            _O.cell_x,
            _O.cell_y,
            sa.func.sum(_O.people).label("people"),
            sa.func.sum(_O.person_s).label("person_s"),
        )
        .join(hours, sa.and_(_O.screen_id == hours.c.screen_id, _hour_text(_O.hour, dialect) == hours.c.hour))
        .group_by(_O.cell_x, _O.cell_y)
        .order_by(_O.cell_x, _O.cell_y)
    )
    return tuple(
        OccupancyCell(int(r.cell_x), int(r.cell_y), int(r.people), float(r.person_s))
        for r in conn.execute(query)
    )
