"""The soak bench's figures: per fault window and for the run, from the logs, the database, /proc
and the screenshots, and whether each fault was recovered without a restart."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from _soak_db import ImpressionRow, PlayRow
from _soak_player import STANDBY, LogLine, ProcSample, Segment, Shot

_CAMERA_OFF = re.compile(r"camera .*offline", re.IGNORECASE)
_CAMERA_ON = re.compile(r"camera .*\bonline\b", re.IGNORECASE)


@dataclass
class Window:
    """A stretch of the run: the baseline, one fault from its injection to the next one, a segment."""

    label: str
    kind: str
    what: str
    start: datetime
    inject: datetime | None = None
    undo: datetime | None = None
    end: datetime | None = None
    stored_by_end: int | None = None  # plays of the window in the database when it ended
    notes: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)  # the bench restarted a crashed or hung player
    kill_at: datetime | None = None
    kill_segment: str = ""


@dataclass(frozen=True)
class Figures:
    label: str
    kind: str
    at_s: float
    held_s: float | None
    started: int
    standby: int
    stored: int
    stored_by_end: int | None
    skipped: int
    impressions: int
    impressions_expected: int
    lost: int
    lost_lines: int
    tracebacks: int
    darkest: float | None
    recovered: str
    note: str


@dataclass(frozen=True)
class KillFigures:
    label: str
    ad_id: str
    on_screen_s: float | None
    credited_s: float | None
    lost_s: float | None
    note: str


@dataclass
class RunData:
    screen_id: str
    windows: list[Window]
    segments: list[Segment]
    plays: list[PlayRow]
    impressions: list[ImpressionRow]
    beats: list[tuple[datetime, dict[str, Any]]]
    shots: list[Shot]
    video_ads: frozenset[str]
    restricted_ads: frozenset[str]
    t0: datetime

    def lines(self, start: datetime, end: datetime) -> list[LogLine]:
        return [ln for seg in self.segments for ln in seg.lines if start <= ln.at < end]

    @property
    def has_play_lines(self) -> bool:
        return any(ln.started_ad is not None for seg in self.segments for ln in seg.lines)


def _started(data: RunData, lines: Sequence[LogLine], shots: Sequence[Shot]) -> tuple[int, int]:
    """(ads started, standby slots started) from the log, or from the screenshots' names without log lines."""
    if data.has_play_lines:
        ads = [ln.started_ad for ln in lines if ln.started_ad is not None]
    else:
        ads = [s.name.split("-", 1)[1].removesuffix(".png") for s in shots if "-" in s.name]
    standby = sum(1 for a in ads if a == STANDBY)
    return len(ads) - standby, standby


def killed_play(data: RunData, window: Window) -> tuple[KillFigures, str | None]:
    """Proof of play lost by one kill: how long the play on screen really ran minus what its row credits."""
    at = window.kill_at
    assert at is not None
    seg_lines = [ln for s in data.segments if s.label == window.kill_segment for ln in s.lines if ln.at <= at]
    last = next((ln for ln in reversed(seg_lines) if ln.started_ad is not None), None)
    if last is not None and last.started_ad == STANDBY:
        return KillFigures(
            window.label, STANDBY, None, None, None, "standby slide on screen: no play owed"
        ), None
    before = [p for p in data.plays if p.started_at <= at]
    play = before[-1] if before else None
    if play is not None and play.started_at.timestamp() + play.planned_s < at.timestamp() - 1.0:
        play = None  # that one had ended on its own before the kill
    if play is None:
        if last is None:
            return KillFigures(window.label, "-", None, None, None, "nothing had started yet"), None
        on = (at - last.at).total_seconds()
        return KillFigures(
            window.label, last.started_ad or "?", on, 0.0, on, "the play on screen was never stored"
        ), None
    on_screen = (at - play.started_at).total_seconds()
    if play.ended_at is None:
        return KillFigures(
            window.label, play.ad_id, on_screen, None, on_screen, "still open (never repaired)"
        ), play.play_id
    credited = play.actual_s
    note = f"repaired as {play.outcome or 'open'}"
    return KillFigures(
        window.label, play.ad_id, on_screen, credited, on_screen - credited, note
    ), play.play_id


def _latest_beat(data: RunData, after: datetime, before: datetime) -> dict[str, Any] | None:
    """The last heartbeat the player wrote after ``after``, as sampled before ``before``."""
    found = None
    for sampled, beat in data.beats:
        seen = beat.get("last_seen")
        if sampled < before and seen is not None and seen > after:
            found = beat
    return found


def _verdict(
    data: RunData, w: Window, lines: list[LogLine], plays: list[PlayRow], started: int, lost: int
) -> tuple[str, str]:
    """("yes" | "NO" | "?" | "restart", why) for a fault window; ("", "") where nothing was broken."""
    if w.kind in ("baseline", "replay"):
        return "", ""
    if w.restarts:
        return "NO", "bench restarted the player: " + "; ".join(w.restarts)
    end = w.end or w.start
    undo = w.undo or w.inject or w.start
    after = [p for p in plays if p.started_at > undo]
    played_after = any(ln.started_ad is not None and ln.at > undo for ln in lines) or bool(after)
    if w.kind == "segment" and w.label != "rtsp":  # the database away until a normal stop
        if started == 0:
            return "?", "nothing started"
        if lost:
            return "NO", f"{lost} records lost although the next start had the database back"
        return "yes", "nothing lost once the next start had the database back"
    if w.kind == "segment":
        return _rtsp_verdict(data, lines, plays)
    if not played_after:
        return "NO", "nothing played after the undo"
    if w.kind == "kill":
        return "restart", "by design (kill -9); see the proof-of-play table"
    if not after:
        return "NO", "plays after the undo were not stored"
    if w.kind == "camera":
        off = any(_CAMERA_OFF.search(ln.message) for ln in lines if ln.at >= (w.inject or w.start))
        back = any(_CAMERA_ON.search(ln.message) for ln in lines if ln.at > undo)
        beat = _latest_beat(data, undo, end)
        online = beat is not None and bool(beat.get("camera_online"))
        if not off:
            return "?", "the camera loss was never logged (it reads the file until its loop ends)"
        if back or online:
            return "yes", "offline and online logged" + (", heartbeat camera_online" if online else "")
        return "NO", "the camera did not come back online"
    if w.kind in ("catalog", "rules"):
        return _file_verdict(data, w, lines, undo, end)
    if w.kind == "media":
        good = [p for p in after if p.ad_id in data.video_ads and p.outcome == "completed"]
        if good:
            return "yes", f"{good[0].ad_id} played through after the restore"
        return "?", "no video ad completed after the restore within the window"
    if w.kind in ("db", "disk"):
        if w.stored_by_end is not None and w.stored_by_end < started:
            return (
                "NO",
                f"{started - w.stored_by_end} of {started} plays not yet stored when the window ended",
            )
        return "yes", "every play of the window stored before it ended"
    return "?", ""


def _file_verdict(
    data: RunData, w: Window, lines: list[LogLine], undo: datetime, end: datetime
) -> tuple[str, str]:
    name = "catalog" if w.kind == "catalog" else "rule"
    inject = w.inject or w.start
    reported = any(
        ln.level in ("ERROR", "WARNING", "CRITICAL") and name in ln.message.lower()
        for ln in lines
        if inject <= ln.at <= undo
    )
    reloaded = any(
        ln.level == "INFO" and name in ln.message.lower() and re.search(r"load|restor|back|clear", ln.message)
        for ln in lines
        if ln.at > undo
    )
    beat = _latest_beat(data, undo, end)
    column = "catalog_valid" if w.kind == "catalog" else "rules_valid"
    valid = None if beat is None or column not in beat else bool(beat[column])
    why = [] if reported else ["the broken file was not reported"]
    if valid is False:
        return "NO", "; ".join([*why, f"heartbeat {column} still false after the restore"])
    if valid or reloaded:
        return "yes", "; ".join([*why, f"heartbeat {column}" if valid else "reload logged"])
    if not reported:  # a live watcher logs one or the other: it is not watching any more
        return "NO", "neither the broken file nor its restore was logged"
    return "?", "no reload logged and no heartbeat after the restore"


def _rtsp_verdict(data: RunData, lines: list[LogLine], plays: list[PlayRow]) -> tuple[str, str]:
    """The camera URL leads nowhere: the default rotation must play, audience unknown, nothing restricted."""
    if not plays:
        return "NO", "nothing stored while the camera URL led nowhere"
    known = [p for p in plays if p.audience_known]
    restricted = [p for p in plays if p.ad_id in data.restricted_ads]
    bad = [f"{len(known)} plays claim a known audience"] if known else []
    bad += [f"restricted {restricted[0].ad_id} played"] if restricted else []
    if bad:
        return "NO", "; ".join(bad)
    if any(_CAMERA_OFF.search(ln.message) for ln in lines):
        return "yes", "camera offline logged, the rotation played with the audience unknown"
    return "?", "the rotation played, but the camera was never logged offline"


def figures(data: RunData, w: Window, killed_ids: set[str]) -> Figures:
    end = w.end or w.start
    lines = data.lines(w.start, end)
    shots = [s for s in data.shots if w.start <= s.at < end]
    plays = [p for p in data.plays if w.start <= p.started_at < end]
    ids = {p.play_id for p in plays}
    all_ids = {p.play_id for p in data.plays}
    started, standby = _started(data, lines, shots)
    skipped = sum(1 for p in plays if p.outcome == "skipped")
    impressions = sum(1 for i in data.impressions if i.play_id in ids) + sum(
        1
        for i in data.impressions
        if i.play_id not in all_ids and i.recorded_at is not None and w.start <= i.recorded_at < end
    )
    unstored = max(0, started - len(plays))
    expected = len(plays) - skipped - len(ids & killed_ids) + unstored
    lost = unstored + max(0, expected - impressions)
    recovered, note = _verdict(data, w, lines, plays, started, lost)
    held = None if w.inject is None or w.undo is None else (w.undo - w.inject).total_seconds()
    return Figures(
        label=w.label,
        kind=w.kind,
        at_s=((w.inject or w.start) - data.t0).total_seconds(),
        held_s=held,
        started=started,
        standby=standby,
        stored=len(plays),
        stored_by_end=w.stored_by_end,
        skipped=skipped,
        impressions=impressions,
        impressions_expected=expected,
        lost=lost,
        lost_lines=sum(1 for ln in lines if "LOST" in ln.message),
        tracebacks=sum(1 for ln in lines if ln.message.lstrip().startswith("Traceback")),
        darkest=min((s.luminance for s in shots), default=None),
        recovered=recovered,
        note="; ".join([*w.notes, note] if note else w.notes),
    )


def run_figures(data: RunData, rows: Sequence[Figures]) -> Figures:
    return Figures(
        label="run",
        kind="run",
        at_s=0.0,
        held_s=None,
        started=sum(r.started for r in rows),
        standby=sum(r.standby for r in rows),
        stored=sum(r.stored for r in rows),
        stored_by_end=None,
        skipped=sum(r.skipped for r in rows),
        impressions=sum(r.impressions for r in rows),
        impressions_expected=sum(r.impressions_expected for r in rows),
        lost=sum(r.lost for r in rows),
        lost_lines=sum(r.lost_lines for r in rows),
        tracebacks=sum(r.tracebacks for r in rows),
        darkest=min((r.darkest for r in rows if r.darkest is not None), default=None),
        recovered=f"{sum(r.recovered == 'yes' for r in rows)}/{sum(r.recovered not in ('', 'restart') for r in rows)}",
        note=f"{len(data.segments)} player processes; plays outside every window: "
        f"{len(data.plays) - sum(r.stored for r in rows)}",
    )


# -- growth of the process ------------------------------------------------------------------------


def slope_per_hour(points: Iterable[tuple[float, float]]) -> tuple[float, float, int] | None:
    """(Sxy, Sxx, n) of a least-squares line; the slope per hour is 3600 * Sxy / Sxx."""
    pts = list(points)
    if len(pts) < 4 or pts[-1][0] - pts[0][0] < 60:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return (sxy, sxx, len(pts)) if sxx > 0 else None


def growth(
    segments: Sequence[Segment], skip_s: float, metric: str
) -> tuple[dict[str, float | None], float | None]:
    """Growth per hour of ``metric`` for each segment after ``skip_s`` of warm-up, and pooled over them."""
    per: dict[str, float | None] = {}
    sxy_all = sxx_all = 0.0
    for seg in segments:
        pts = [
            (s.mono - seg.started_mono, float(getattr(s, metric)))
            for s in seg.samples
            if s.mono - seg.started_mono >= skip_s
        ]
        fit = slope_per_hour(pts)
        per[seg.label] = None if fit is None else 3600 * fit[0] / fit[1]
        if fit is not None:
            sxy_all += fit[0]
            sxx_all += fit[1]
    return per, (3600 * sxy_all / sxx_all if sxx_all > 0 else None)


def first_last(samples: Sequence[ProcSample], metric: str) -> tuple[float | None, float | None]:
    if not samples:
        return None, None
    return float(getattr(samples[0], metric)), float(getattr(samples[-1], metric))
