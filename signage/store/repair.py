"""Start-up repair: plays a crash left open are closed as interrupted, credited with how long they ran."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from signage.domain import PlayOutcome
from signage.store.models import HEARTBEAT, PLAY
from signage.store.progress import Progress

log = logging.getLogger(__name__)

CRASH_REASON = "player stopped unexpectedly"


def repaired_end(started_at: datetime, planned_s: float, last_seen: datetime | None) -> datetime:
    """Our best honest end time for a play whose player died.

    ``last_seen`` is the last moment we know it was showing the play (its progress record, else the
    screen's last heartbeat): the play ended no earlier
    than that (if it was after the start) and no later than its planned end. Without a heartbeat we
    claim nothing was shown, so proof of play is never overstated.
    """
    if last_seen is None or last_seen <= started_at:
        return started_at
    return min(last_seen, started_at + timedelta(seconds=max(planned_s, 0.0)))


def repair_open_plays(conn: Connection, screen_id: str, progress: Progress | None = None) -> int:
    """Close this screen's open plays as interrupted; returns how many were repaired.

    ``progress`` (the loop's progress record of the dead process) dates the end of the play it
    names to within a sample; any other open play falls back on the heartbeat.

    Only ``screen_id``'s rows are touched: on a shared database other screens' plays may be open
    because they are on screen right now.
    """
    last_seen = conn.execute(
        sa.select(HEARTBEAT.c.last_seen).where(HEARTBEAT.c.screen_id == screen_id)
    ).scalar_one_or_none()
    rows = conn.execute(
        sa.select(PLAY.c.play_id, PLAY.c.started_at, PLAY.c.planned_s).where(
            PLAY.c.screen_id == screen_id, PLAY.c.ended_at.is_(None)
        )
    ).all()
    for play_id, started_at, planned_s in rows:
        seen = last_seen
        if progress is not None and str(play_id) == progress.play_id:
            seen = progress.at if seen is None else max(seen, progress.at)
        ended_at = repaired_end(started_at, planned_s, seen)
        conn.execute(
            PLAY.update()
            .where(PLAY.c.play_id == play_id)
            .values(
                ended_at=ended_at,
                actual_s=(ended_at - started_at).total_seconds(),
                outcome=PlayOutcome.INTERRUPTED.value,
                reason=CRASH_REASON,
            )
        )
    if rows:
        log.warning(
            "closed %d play(s) of screen %s left open by a crash as interrupted", len(rows), screen_id
        )
    return len(rows)
