"""The soak bench's tables (rich) and its JSON."""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from _soak_faults import Plan
from _soak_player import Segment, Shot
from _soak_report import Figures, KillFigures, RunData, figures, first_last, growth, killed_play, run_figures
from rich.console import Console
from rich.table import Table


def console() -> Console:
    width = shutil.get_terminal_size((200, 40)).columns
    return Console(width=max(width, 200), highlight=False)


def _n(value: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def fault_table(rows: Sequence[Figures], total: Figures) -> Table:
    table = Table(title="Per fault window (from its injection to the next fault) and for the run")
    for name, justify in [
        ("fault", "left"),
        ("at min", "right"),
        ("held s", "right"),
        ("started", "right"),
        ("stored", "right"),
        ("stored by end", "right"),
        ("skipped", "right"),
        ("impr. stored/expected", "right"),
        ("lost", "right"),
        ("LOST lines", "right"),
        ("tracebacks", "right"),
        ("darkest", "right"),
        ("recovered", "left"),
        ("how we know", "left"),
    ]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in [*rows, total]:
        started = f"{r.started}" + (f" +{r.standby} standby" if r.standby else "")
        table.add_row(
            r.label,
            _n(r.at_s / 60),
            _n(r.held_s, "{:.0f}"),
            started,
            str(r.stored),
            _n(r.stored_by_end, "{:.0f}"),
            str(r.skipped),
            f"{r.impressions}/{r.impressions_expected}",
            str(r.lost),
            str(r.lost_lines),
            str(r.tracebacks),
            _n(r.darkest),
            r.recovered,
            r.note,
            end_section=r is rows[-1] if rows else False,
        )
    return table


def kill_table(kills: Sequence[KillFigures]) -> Table:
    table = Table(
        title="Proof of play per kill -9: on screen (bench clock) minus what the repaired row credits"
    )
    for name in ("kill", "ad on screen", "on screen s", "credited s", "lost s", "row"):
        table.add_column(name)
    for k in kills:
        table.add_row(
            k.label,
            k.ad_id,
            _n(k.on_screen_s, "{:.2f}"),
            _n(k.credited_s, "{:.2f}"),
            _n(k.lost_s, "{:.2f}"),
            k.note,
        )
    return table


def process_rows(segments: Sequence[Segment], skip_s: float) -> list[dict[str, Any]]:
    per_rss, _ = growth(segments, skip_s, "rss_mb")
    per_fds, _ = growth(segments, skip_s, "fds")
    per_thr, _ = growth(segments, skip_s, "threads")
    rows = []
    for seg in segments:
        end = seg.ended_utc or seg.started_utc
        rows.append(
            {
                "segment": seg.label,
                "purpose": seg.purpose,
                "ended": seg.how_ended,
                "minutes": (end - seg.started_utc).total_seconds() / 60,
                "plays_logged": seg.plays_logged(),
                "plays_stop_line": seg.stop_line_count(),
                "screenshots": seg.screenshots,
                "rss_mb": first_last(seg.settled_samples(), "rss_mb"),
                "fds": first_last(seg.settled_samples(), "fds"),
                "threads": first_last(seg.settled_samples(), "threads"),
                "samples": len(seg.samples),
                "rss_mb_per_h": per_rss[seg.label],
                "fds_per_h": per_fds[seg.label],
                "threads_per_h": per_thr[seg.label],
            }
        )
    return rows


def process_table(rows: Sequence[dict[str, Any]], skip_s: float) -> Table:
    table = Table(
        title=f"Player processes (/proc from the first play to the end; growth fitted after the first"
        f" {skip_s:.0f} s)"
    )
    for name in (
        "segment",
        "started",
        "ended",
        "min",
        "plays log/stop/shots",
        "RSS MB",
        "fds",
        "threads",
        "RSS MB/h",
        "fds/h",
        "threads/h",
    ):
        table.add_column(name, overflow="fold")

    def pair(values: tuple[float | None, float | None], fmt: str) -> str:
        return f"{_n(values[0], fmt)} -> {_n(values[1], fmt)}"

    for r in rows:
        plays = f"{r['plays_logged']}/{_n(r['plays_stop_line'], '{:.0f}')}/{r['screenshots']}"
        table.add_row(
            r["segment"],
            r["purpose"],
            r["ended"],
            _n(r["minutes"]),
            plays,
            pair(r["rss_mb"], "{:.0f}"),
            pair(r["fds"], "{:.0f}"),
            pair(r["threads"], "{:.0f}"),
            _n(r["rss_mb_per_h"], "{:+.1f}"),
            _n(r["fds_per_h"], "{:+.1f}"),
            _n(r["threads_per_h"], "{:+.1f}"),
        )
    return table


def write_json(path: Path, payload: dict[str, Any]) -> None:
    def default(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        if is_dataclass(value) and not isinstance(value, type):
            return asdict(value)
        return str(value)

    path.write_text(json.dumps(payload, indent=2, default=default))


def report(data: RunData, plan: Plan, args: argparse.Namespace, darkest: list[Shot]) -> None:
    """Print the tables and the summary lines; write the JSON when asked."""
    out = console()
    kills, killed_ids = [], set()
    for w in data.windows:
        if w.kill_at is not None:
            figures_, play_id = killed_play(data, w)
            kills.append(figures_)
            if play_id:
                killed_ids.add(play_id)
    rows = [figures(data, w, killed_ids) for w in data.windows]
    total = run_figures(data, rows)
    out.print(fault_table(rows, total))
    if kills:
        out.print(kill_table(kills))
    skip_s = max(30.0, min(180.0, args.minutes * 60 / 20))
    procs = process_rows(data.segments, skip_s)
    out.print(process_table(procs, skip_s))
    # The run's growth: the main segment's players only (the others are short and do other things).
    main = [s for s in data.segments if s.label.startswith("main-")]
    _, rss_h = growth(main, skip_s, "rss_mb")
    _, fds_h = growth(main, skip_s, "fds")
    _, thr_h = growth(main, skip_s, "threads")
    settled = [s.settled_samples() for s in main if s.settled_samples()]
    open_rows = sum(1 for p in data.plays if p.ended_at is None)
    odd = sum(
        1 for p in data.plays if p.ended_at is not None and (p.ended_at < p.started_at or p.actual_s < 0)
    )
    lost_s = [k.lost_s for k in kills if k.lost_s is not None]
    dark = darkest[0] if darkest else None

    def fmt(value: float | None, unit: str) -> str:
        return "-" if value is None else f"{value:+.1f} {unit}"

    summary = [
        f"growth per hour (within each of the {len(main)} main players, pooled, first {skip_s:.0f} s"
        f" skipped): RSS {fmt(rss_h, 'MB/h')}, fds {fmt(fds_h, '/h')}, threads {fmt(thr_h, '/h')}",
        "main player at its first play -> at the end of the main segment:"
        f" RSS {settled[0][0].rss_mb:.0f} -> {settled[-1][-1].rss_mb:.0f} MB,"
        f" fds {settled[0][0].fds} -> {settled[-1][-1].fds}, threads {settled[0][0].threads} ->"
        f" {settled[-1][-1].threads}"
        if settled
        else "main player: no /proc sample after a first play",
        f"proof of play lost per kill: {', '.join(f'{s:.2f} s' for s in lost_s) or '-'}"
        + (f" (worst {max(lost_s):.2f} s)" if lost_s else ""),
        f"darkest screenshot: {dark.luminance:.1f} mean luma ({dark.segment}/{dark.name}) of {len(data.shots)}"
        if dark
        else "darkest screenshot: no screenshot was taken",
        f"database: {len(data.plays)} plays, {len(data.impressions)} impressions;"
        f" {open_rows} rows still open, {odd} with an impossible end or duration",
    ]
    for line in [*plan.notes, *summary]:
        out.print(line)
    if args.json:
        write_json(
            Path(args.json),
            {
                "args": vars(args),
                "plan": plan,
                "windows": rows,
                "run": total,
                "kills": kills,
                "processes": procs,
                "growth_per_h": {"rss_mb": rss_h, "fds": fds_h, "threads": thr_h},
                "darkest": dark,
                "database": {
                    "plays": len(data.plays),
                    "impressions": len(data.impressions),
                    "open": open_rows,
                    "impossible": odd,
                },
            },
        )
        out.print(f"JSON written to {args.json}")
