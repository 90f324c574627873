"""The soak bench's view of one player process, from outside: its log, /proc and its screenshots.

Nothing here imports the player. The log is read as text (the format of ``signage.cli.common``),
/proc gives memory, file descriptors and threads, and each screenshot the player saves (one per
play, ``--screenshots``) is measured for mean luminance and deleted, except the darkest.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2

# "2026-12-01 21:04:14,531 DEBUG   signage.loop: playing holiday-beach (advent-travel: ...)"
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\w+)\s+(\S+): (.*)$")
_PLAYING = re.compile(r"^playing (\S+)")
_STOPPED = re.compile(r"player stop\w* after (\d+) play")
STANDBY = "standby"


@dataclass(frozen=True)
class LogLine:
    at: datetime  # UTC; a line without a time stamp (a traceback, native output) takes the last one seen
    level: str  # "" for lines without a time stamp
    logger: str
    message: str
    segment: str

    @property
    def started_ad(self) -> str | None:
        """The ad a "playing X" line of the slot loop says went on screen (``standby`` included)."""
        if self.logger != "signage.loop":
            return None
        match = _PLAYING.match(self.message)
        return match.group(1) if match else None


@dataclass(frozen=True)
class ProcSample:
    mono: float
    rss_mb: float
    fds: int
    threads: int


@dataclass(frozen=True)
class Shot:
    segment: str
    name: str
    at: datetime
    luminance: float  # mean luma (0.299 R + 0.587 G + 0.114 B), 0-255


def parse_line(raw: str, last: datetime, segment: str) -> LogLine:
    match = _LINE.match(raw)
    if match is None:
        return LogLine(last, "", "", raw, segment)
    # The player logs local time (logging's asctime): astimezone() reads a naive time as local.
    at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone(UTC)
    return LogLine(at, match.group(2), match.group(3), match.group(4), segment)


def proc_sample(pid: int) -> ProcSample | None:
    """RSS (VmRSS), open file descriptors and threads of ``pid`` now; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rss_kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    if rss_kb == 0:  # a zombie: exited, not yet reaped
        return None
    return ProcSample(time.monotonic(), rss_kb / 1024, fds, threads)


def luminance(path: Path) -> float | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None
    return float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())


@dataclass
class Segment:
    """One player process: how it was started and ended, what it logged, and its samples."""

    label: str  # "main-1", "rtsp", ...
    purpose: str  # why it was started: "start", "after kill9#1", "after a crash", ...
    command: list[str]
    log_path: Path
    shots_dir: Path
    env: dict[str, str]
    started_utc: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_mono: float = field(default_factory=time.monotonic)
    ended_utc: datetime | None = None
    how_ended: str = ""  # "stopped", "killed (kill9#1)", "crashed (exit 1)", "hung: killed"...
    exit_code: int | None = None
    lines: list[LogLine] = field(default_factory=list)
    samples: list[ProcSample] = field(default_factory=list)
    last_activity_mono: float | None = None  # the last play start seen (log line or screenshot)
    first_activity_mono: float | None = None  # the first one: start-up is over
    screenshots: int = 0  # the highest play number in a screenshot name
    _proc: subprocess.Popen[bytes] | None = None
    _offset: int = 0
    _partial: str = ""
    _seen_shots: set[str] = field(default_factory=set)

    def start(self) -> None:
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.log_path.parent,  # never the repository: the player imports what PYTHONPATH says
                start_new_session=True,
            )
        self.started_utc, self.started_mono = datetime.now(UTC), time.monotonic()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def exit_status(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def kill9(self, why: str) -> datetime:
        """SIGKILL now; returns the moment (UTC) just before the signal."""
        assert self._proc is not None
        at = datetime.now(UTC)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        self._ended(f"killed ({why})")
        return at

    def stop(self, timeout_s: float = 60.0) -> None:
        """A normal stop (SIGTERM), SIGKILL if it has not exited within ``timeout_s``."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=timeout_s)
            self._ended("stopped")
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            self._ended(f"did not stop within {timeout_s:.0f} s: killed")

    def mark_exited(self) -> None:
        code = self.exit_status()
        self._ended(f"exited by itself (status {code})")

    def _ended(self, how: str) -> None:
        self.ended_utc = datetime.now(UTC)
        self.exit_code = self.exit_status()
        self.how_ended = how

    # -- what it says ---------------------------------------------------------------------------
    def read_log(self) -> list[LogLine]:
        """The lines appended since the last call (a partial last line waits for its end)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        text = self._partial + chunk.decode("utf-8", errors="replace")
        *complete, self._partial = text.split("\n")
        last = self.lines[-1].at if self.lines else self.started_utc
        new: list[LogLine] = []
        for raw in complete:
            line = parse_line(raw.rstrip("\r"), last, self.label)
            last = line.at
            new.append(line)
            if line.started_ad is not None:
                self._active(time.monotonic())
        self.lines += new
        return new

    def sample(self) -> ProcSample | None:
        if not self.alive():
            return None
        sample = proc_sample(self.pid)
        if sample is not None:
            self.samples.append(sample)
        return sample

    def measure_shots(
        self, darkest: list[Shot], darkest_path: Path, keep: bool, final: bool = False
    ) -> list[Shot]:
        """Measure the screenshots written since the last call; delete them unless ``keep``.

        ``darkest`` holds the darkest shot so far (of every segment); a darker one replaces it and
        is copied to ``darkest_path``.

        A file younger than two seconds may still be being written and waits for the next call.
        """
        shots: list[Shot] = []
        try:
            entries = sorted(self.shots_dir.iterdir())
        except FileNotFoundError:
            return shots
        now = time.time()
        for path in entries:
            if path.name in self._seen_shots or path.suffix != ".png":
                continue
            mtime = path.stat().st_mtime
            if not final and now - mtime < 2.0:
                continue
            self._seen_shots.add(path.name)
            number = path.name.split("-", 1)[0]
            if number.isdigit():
                self.screenshots = max(self.screenshots, int(number))
                self._active(time.monotonic() - (now - mtime))
            value = luminance(path)
            if value is None:
                continue
            shot = Shot(self.label, path.name, datetime.fromtimestamp(mtime, UTC), value)
            shots.append(shot)
            if not darkest or value < darkest[0].luminance:
                darkest[:] = [shot]
                shutil.copyfile(path, darkest_path)
            if not keep:
                path.unlink(missing_ok=True)
        return shots

    def _active(self, mono: float) -> None:
        self.last_activity_mono = max(self.last_activity_mono or mono, mono)
        self.first_activity_mono = min(self.first_activity_mono or mono, mono)

    def settled_samples(self) -> list[ProcSample]:
        """The samples once start-up is over (from the first play on)."""
        first = self.first_activity_mono
        return [s for s in self.samples if first is not None and s.mono >= first]

    def stop_line_count(self) -> int | None:
        """N from the player's own "player stopped after N play(s)", when it stopped normally."""
        for line in reversed(self.lines):
            match = _STOPPED.search(line.message)
            if match:
                return int(match.group(1))
        return None

    def plays_logged(self) -> int:
        return sum(1 for line in self.lines if line.started_ad is not None)
