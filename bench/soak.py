"""Soak probe: the real player, headless, for a long time, through a plan of faults it must survive.

    .venv/bin/python bench/soak.py [--minutes 60] [--faults all|none|NAME,NAME...] [--json OUT]
                                   [--kills 3] [--no-perception] [--player-src DIR] [--keep]

Runs ``signage run --headless --screenshots`` in a working folder of its own (a copy of the sample
catalog and media, the rule files, a data dir on a small tmpfs, a camera video rendered from the
simulated scene), with its database in a fresh PostgreSQL database reached through a local TCP
proxy the bench can cut. Faults are spread evenly over the main segment, each injected and later
undone while the player keeps running (see ``_soak_faults.py``: camera file renamed away, catalog
and rule files broken four ways, every video truncated, the data dir's disk full, the database
away, kill -9 and restart); two more segments start a player of their own: one whose camera is an
RTSP URL leading nowhere, and one whose database is away until a normal stop, followed by a start
that replays what it journaled. Groups for --faults: catalog, rules, disk, db.

Everything is measured from outside the player: its log (``log_level: DEBUG`` for the slot loop's
"playing X" line; its screenshots when that line is missing), the database, /proc/<pid> and the
screenshots. Printed per fault window and for the run: plays started vs stored (and stored by the
time the window ended), impressions stored vs expected, records lost, 'LOST' log lines, tracebacks,
the darkest screenshot's mean luminance, whether the fault was recovered without a restart (and
from which evidence); per kill, the seconds of proof of play lost; per player process, RSS, file
descriptors and threads at start and end with their growth per hour. It prints, it never asserts:
the exit status is 0 unless the bench itself breaks.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from _soak_db import Database  # noqa: E402
from _soak_faults import (  # noqa: E402
    DB_DOWN,
    RTSP,
    FaultActions,
    Plan,
    Planned,
    closed_port,
    make_plan,
    select,
    try_mount_tmpfs,
    unmount,
)
from _soak_player import Segment, Shot  # noqa: E402
from _soak_report import RunData, Window  # noqa: E402
from _soak_setup import (  # noqa: E402
    build_parser,
    copy_content,
    player_env,
    print_plan,
    render_camera,
    write_settings,
)
from _soak_tables import report  # noqa: E402

from signage.testing.cut_proxy import CutProxy  # noqa: E402

SCREEN = "soak-1"


class Soak:
    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        self.args, self.stack = args, stack
        self.work = Path(tempfile.mkdtemp(prefix="soak-", dir=args.workdir))
        stack.callback(self._remove_work)
        self.segments: list[Segment] = []
        self.windows: list[Window] = []
        self.beats: list[tuple[datetime, dict[str, Any]]] = []
        self.shots: list[Shot] = []
        self.darkest: list[Shot] = []
        self.active: Segment | None = None
        self.config = self.work / "signage.yaml"
        self.restart_at: float | None = None
        self.restart_as: tuple[str, Path] = ("main", self.config)  # what the watchdog restarts
        self.backoff_s = 5.0
        self.t0 = datetime.now(UTC)
        self.t0_mono = time.monotonic()
        self._last = {"sample": 0.0, "shots": 0.0, "beat": 0.0}
        self.env = player_env(args.player_src)

    def _remove_work(self) -> None:
        if self.args.keep:
            print(f"kept the working folder {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def say(self, text: str) -> None:
        print(f"[{(time.monotonic() - self.t0_mono) / 60:5.1f} min] {text}", flush=True)

    # -- the working folder ---------------------------------------------------------------------
    def prepare(self, names: list[str]) -> Plan:
        w, self.data = self.work, self.work / "data"
        for d in (self.data, w / "segments"):
            d.mkdir(parents=True, exist_ok=True)
        src = Path(self.args.player_src).resolve() if self.args.player_src else ROOT  # its catalog and rules
        content = copy_content(w, src, ROOT / "ads" / "media", self.env)
        self.video_ads, self.restricted = content.video_ads, content.restricted_ads
        self.camera = w / "camera.mp4"
        render_camera(self.camera)

        skipped: dict[str, str] = {}
        why = try_mount_tmpfs(self.data, self.args.disk_mb)
        if why:
            skipped["disk_full"] = skipped["disk_full_db_away"] = why
        else:
            self.stack.callback(unmount, self.data)
        db, why = (None, "--sqlite") if self.args.sqlite else Database.postgres()
        proxy = None
        if db is None:
            for name in ("db_away", "disk_full_db_away", DB_DOWN.name):
                skipped.setdefault(name, f"needs PostgreSQL behind the proxy ({why}); the player uses SQLite")
            db = Database.sqlite(self.data)
        else:
            proxy = CutProxy(("127.0.0.1", 5432))
            self.stack.callback(proxy.close)
            db.player_url = db.url_via("127.0.0.1", proxy.port)
        self.stack.callback(db.drop)
        self.db, self.proxy = db, proxy
        self.actions = FaultActions(camera=self.camera, catalog=content.catalog, rules=content.rules[0],
                                    media=content.media, originals=w / "originals", data_dir=self.data,
                                    proxy=proxy)  # fmt: skip
        self.actions.check_broken_files()
        self.stack.callback(self.actions.undo_all)
        self.stack.callback(self.stop_player)  # first of all on the way out
        self.rtsp_config = w / "signage-rtsp.yaml"
        for path, camera in (
            (self.config, str(self.camera)),
            (self.rtsp_config, f"rtsp://127.0.0.1:{closed_port()}/x"),
        ):
            write_settings(path, screen_id=SCREEN, camera=camera, data_dir=self.data, content=content,
                           database_url=db.player_url, perception=not self.args.no_perception)  # fmt: skip
        return make_plan(names, self.args.minutes, self.args.kills, skipped)

    # -- players --------------------------------------------------------------------------------
    def start_player(self, prefix: str, purpose: str, config: Path | None = None) -> Segment:
        number = sum(1 for s in self.segments if s.label.split("-")[0] == prefix) + 1
        label = f"{prefix}-{number}"
        folder = self.work / "segments" / label
        folder.mkdir(parents=True)
        signage = Path(sys.executable).with_name("signage")
        command = [
            str(signage),
            "run",
            "--headless",
            "--config",
            str(config or self.config),
            "--screenshots",
            str(folder / "shots"),
        ]
        seg = Segment(label, purpose, command, folder / "player.log", folder / "shots", self.env)
        seg.start()
        self.segments.append(seg)
        self.active = seg
        self.restart_as = (prefix, config or self.config)
        self.say(f"{label} started ({purpose}), pid {seg.pid}")
        return seg

    def _finish(self, seg: Segment) -> None:
        seg.read_log()
        self.shots += seg.measure_shots(self.darkest, self.work / "darkest.png", self.args.keep, final=True)

    def stop_player(self) -> None:
        seg = self.active
        if seg is not None:
            seg.stop()
            self._finish(seg)
            if seg.how_ended != "stopped" and self.windows and self.windows[-1].end is None:
                self.windows[-1].notes.append(f"{seg.label} {seg.how_ended}")
            self.say(f"{seg.label} {seg.how_ended}; {seg.plays_logged()} plays logged")
            self.active = None

    def tick(self, watch: bool = True) -> None:
        """Read the log, sample /proc, measure screenshots, sample the heartbeat, watch for a dead player."""
        now = time.monotonic()
        seg = self.active
        if seg is not None:
            seg.read_log()
            if now - self._last["sample"] >= self.args.sample_s:
                self._last["sample"] = now
                seg.sample()
            if now - self._last["shots"] >= 3:
                self._last["shots"] = now
                self.shots += seg.measure_shots(self.darkest, self.work / "darkest.png", self.args.keep)
        if now - self._last["beat"] >= 5:
            self._last["beat"] = now
            beat = self.db.heartbeat(SCREEN)
            if beat is not None:
                self.beats.append((datetime.now(UTC), beat))
        if watch:
            self._watchdog(now)

    def _watchdog(self, now: float) -> None:
        seg, window = self.active, self.windows[-1]
        if seg is None:
            if self.restart_at is not None and now >= self.restart_at:
                self.restart_at = None
                self.start_player(self.restart_as[0], "after a crash or hang", self.restart_as[1])
            return
        if not seg.alive():
            seg.mark_exited()
            self._finish(seg)
            quick = (seg.ended_utc or seg.started_utc) - seg.started_utc
            self.backoff_s = min(30.0, self.backoff_s * 2) if quick.total_seconds() < 30 else 5.0
            problem = f"{seg.label} {seg.how_ended}"
        else:
            last = seg.last_activity_mono or seg.started_mono
            limit = self.args.hang_s if seg.last_activity_mono else self.args.startup_s
            if now - last <= limit:
                return
            seg.kill9("hang")
            self._finish(seg)
            self.backoff_s = 2.0
            problem = f"{seg.label} started no play for {limit:.0f} s: killed"
        window.restarts.append(problem)
        self.active = None
        self.restart_at = now + self.backoff_s
        self.say(f"WATCHDOG {problem}; restarting in {self.backoff_s:.0f} s")

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.tick()
            time.sleep(0.5)

    def wait_first_play(self, seg: Segment) -> None:
        end = time.monotonic() + self.args.startup_s
        while time.monotonic() < end and seg.alive() and seg.last_activity_mono is None:
            self.tick(watch=False)
            time.sleep(0.5)

    # -- windows --------------------------------------------------------------------------------
    def open_window(self, label: str, kind: str, what: str, inject: bool = False) -> Window:
        start = None
        if self.windows and self.windows[-1].end is None:
            self.close_window()
            start = self.windows[-1].end  # windows in a row leave no gap between them
        now = datetime.now(UTC)
        window = Window(label, kind, what, start=start or now, inject=now if inject else None)
        self.windows.append(window)
        return window

    def close_window(self) -> None:
        window = self.windows[-1]
        window.end = datetime.now(UTC)
        if self.active is not None:
            self.active.read_log()
        time.sleep(1.0)  # the last play's row may be a moment behind its log line
        window.stored_by_end = self.db.count_plays(SCREEN, window.start, window.end)

    # -- the run --------------------------------------------------------------------------------
    def run_main(self, plan: Plan) -> None:
        self.open_window("baseline", "baseline", "start-up and steady play, no fault")
        start = time.monotonic()
        self.start_player("main", "start")
        steps = sorted(
            [(p.inject_at, 0, p) for p in plan.items] + [(p.undo_at, 1, p) for p in plan.items],
            key=lambda s: (s[0], s[1]),
        )
        i = 0
        while i < len(steps) or time.monotonic() - start < plan.main_s:
            while i < len(steps) and steps[i][0] <= time.monotonic() - start:
                _, undo, item = steps[i]
                self.undo(item) if undo else self.inject(item)
                i += 1
            self.tick()
            time.sleep(0.5)
        self.stop_player()
        self.close_window()

    def inject(self, item: Planned) -> None:
        window = self.open_window(item.label, item.spec.kind, item.spec.what, inject=True)
        if item.spec.kind == "kill":
            seg = self.active
            if seg is None:
                window.notes.append("no player running to kill")
                return
            seg.read_log()
            window.kill_at = seg.kill9(item.label)
            window.kill_segment = seg.label
            self._finish(seg)
            self.active = None
            self.restart_at = None
            self.say(f"{item.label}: kill -9 of {seg.label} (pid {seg.pid})")
            return
        note = self.actions.inject(item.spec)
        window.notes.append(note)
        self.say(f"{item.label}: {note}")

    def undo(self, item: Planned) -> None:
        self.windows[-1].undo = datetime.now(UTC)
        if item.spec.kind == "kill":
            self.start_player("main", f"after {item.label}")
            return
        self.say(f"{item.label} undone: {self.actions.undo(item.spec)}")

    def run_rtsp(self, seconds: float) -> None:
        self.open_window(RTSP.name, "segment", RTSP.what, inject=True)
        self.start_player("rtsp", "camera.source: RTSP to a closed port", self.rtsp_config)
        self.run_for(seconds)
        self.windows[-1].undo = datetime.now(UTC)
        self.stop_player()
        self.close_window()

    def run_db_down(self, seconds: float) -> None:
        assert self.proxy is not None
        window = self.open_window(DB_DOWN.name, "segment", DB_DOWN.what)
        seg = self.start_player("final", "the database goes away until a normal stop")
        self.wait_first_play(seg)
        self.proxy.sever()
        window.inject = datetime.now(UTC)
        self.say("database proxy cut until the player is stopped")
        self.run_for(seconds)
        self.stop_player()
        window.undo = window.end = datetime.now(UTC)
        window.notes.append(f"final player {seg.how_ended}")
        self.proxy.restore()
        replay = Window(
            "replay", "replay", "a normal start after it, the database back", start=datetime.now(UTC)
        )
        self.windows.append(replay)
        seg = self.start_player("replay", "start with the database back: replays what was journaled")
        self.wait_first_play(seg)
        self.run_for(20)
        self.stop_player()
        replay.end = datetime.now(UTC)
        window.stored_by_end = self.db.count_plays(SCREEN, window.start, window.end)
        replay.stored_by_end = self.db.count_plays(SCREEN, replay.start, replay.end)

    def collect(self) -> RunData:
        time.sleep(2.0)
        return RunData(
            SCREEN,
            self.windows,
            self.segments,
            self.db.plays(SCREEN),
            self.db.impressions(SCREEN),
            self.beats,
            self.shots,
            self.video_ads,
            self.restricted,
            self.t0,
        )


def main() -> None:
    parser = build_parser(__doc__.splitlines()[0])
    args = parser.parse_args()
    try:
        names = select(args.faults)
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.ExitStack() as stack:
        soak = Soak(args, stack)
        plan = soak.prepare(names)
        print_plan(plan, args.minutes, soak.work, f"{soak.db.kind} {soak.db.name}")
        if args.plan_only:
            return
        soak.t0, soak.t0_mono = datetime.now(UTC), time.monotonic()
        soak.run_main(plan)
        if plan.rtsp_s:
            soak.run_rtsp(plan.rtsp_s)
        if plan.final_s:
            soak.run_db_down(plan.final_s)
        data = soak.collect()
        report(data, plan, args, soak.darkest)


if __name__ == "__main__":
    main()
