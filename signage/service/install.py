"""``signage service install|uninstall|status``: put the unit in place and ask systemd to run it.

Where systemd is not the init process (a container, this build machine) nothing can be started:
the unit is still written and the commands to run on the real machine are printed, plainly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signage.service.unit import UNIT_NAME, UnitSpec, render_unit
from signage.settings import PROJECT_ROOT

DEFAULT_UNIT_DIR = Path("/etc/systemd/system")
DEFAULT_DATA_DIR = Path("/var/lib/signage")
SERVICE = UNIT_NAME.removesuffix(".service")

Echo = Callable[[str], None]


class Systemd(Protocol):
    def booted(self) -> bool:
        """Whether systemd is the init process here (what ``sd_booted()`` checks)."""

    def run(self, args: Sequence[str]) -> tuple[int, str]:
        """``systemctl ARGS``: its exit code and output."""


class RealSystemd:
    def booted(self) -> bool:
        return Path("/run/systemd/system").is_dir()

    def run(self, args: Sequence[str]) -> tuple[int, str]:
        systemctl = shutil.which("systemctl")
        if systemctl is None:
            return 127, "systemctl is not installed"
        done = subprocess.run([systemctl, *args], capture_output=True, text=True, check=False)
        return done.returncode, (done.stdout + done.stderr).rstrip()


def init_process() -> str:
    """What runs as PID 1, by name, for the message that says systemd does not."""
    try:
        return Path("/proc/1/comm").read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def player_command() -> str:
    """This install's ``signage`` executable (the one beside the running Python, in its venv)."""
    beside = Path(sys.executable).parent / "signage"  # not resolved: the venv's bin/, not the base Python's
    if beside.is_file():
        return str(beside.absolute())
    found = shutil.which("signage")
    return str(Path(found).absolute()) if found else str(beside.absolute())


def default_user() -> str:
    """The user who asked (through sudo too): the player runs in their X session."""
    return os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name


def home_of(user: str) -> Path:
    try:
        return Path(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return Path("/home") / user


@dataclass(frozen=True)
class InstallRequest:
    user: str
    data_dir: Path
    config: Path | None
    unit_dir: Path = DEFAULT_UNIT_DIR
    display: str | None = ":0"
    watchdog_s: int = 30


def unit_spec(request: InstallRequest, command: str | None = None) -> UnitSpec:
    exec_start = [command or player_command(), "run"]
    if request.config is not None:
        exec_start += ["--config", str(request.config.absolute())]
    exec_start += ["--data-dir", str(request.data_dir.absolute())]
    if request.display is None:
        exec_start.append("--headless")
    xauthority = home_of(request.user) / ".Xauthority" if request.display is not None else None
    return UnitSpec(
        user=request.user,
        exec_start=tuple(exec_start),
        data_dir=request.data_dir.absolute(),
        display=request.display,
        xauthority=xauthority,
        watchdog_s=request.watchdog_s,
        documentation=f"file://{PROJECT_ROOT / 'README.md'}",
    )


def _not_booted(systemd_words: str, commands: Sequence[str], echo: Echo) -> None:
    echo(f"systemd is not running here (PID 1 is {init_process()}): nothing was {systemd_words}.")
    echo("On the screen's computer, run:")
    for command in commands:
        echo(f"  {command}")


def _systemctl(systemd: Systemd, args: Sequence[str], echo: Echo) -> bool:
    code, output = systemd.run(args)
    if output:
        echo(output)
    if code != 0:
        echo(f"`systemctl {' '.join(args)}` failed (exit code {code})")
    return code == 0


def install(
    request: InstallRequest, systemd: Systemd, echo: Echo, *, dry_run: bool = False,
    command: str | None = None,
) -> int:  # fmt: skip
    spec = unit_spec(request, command)
    text = render_unit(spec)
    path = request.unit_dir / UNIT_NAME
    start = [f"sudo systemctl daemon-reload && sudo systemctl enable --now {SERVICE}"]
    if dry_run:
        echo(f"# {path} (not written: --dry-run)")
        echo(text.rstrip())
        echo("# then: " + start[0])
        return 0
    try:
        pwd.getpwnam(request.user)
    except KeyError:
        echo(
            f"there is no user {request.user!r} here: create it (sudo adduser {request.user}) or choose --user"
        )
        return 1
    if spec.state_directory is None:  # under /var/lib systemd creates it (StateDirectory=)
        problem = _make_data_dir(spec.data_dir, request.user)
        if problem:
            echo(problem)
            return 1
    try:
        request.unit_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        echo(f"cannot write {path}: {exc.strerror}; run it with sudo, or choose another --unit-dir")
        return 1
    echo(f"wrote {path}")
    if not systemd.booted():
        echo(text.rstrip())
        _not_booted("started", start, echo)
        return 0
    ok = _systemctl(systemd, ["daemon-reload"], echo) and _systemctl(
        systemd, ["enable", "--now", SERVICE], echo
    )
    if ok:
        echo(f"{SERVICE} is enabled and started; `signage service status` shows how it runs")
    return 0 if ok else 1


def _make_data_dir(path: Path, user: str) -> str | None:
    """Create the data folder, owned by the player's user when we are root; why not, or None."""
    if path.is_dir():
        return None
    try:
        path.mkdir(parents=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
    except (OSError, KeyError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"no user {user!r}"
        return f"cannot create the data folder {path}: {why}; create it, writable by {user}"
    return None


def uninstall(unit_dir: Path, systemd: Systemd, echo: Echo) -> int:
    path = unit_dir / UNIT_NAME
    booted = systemd.booted()
    if booted and path.exists() and not _systemctl(systemd, ["disable", "--now", SERVICE], echo):
        return 1
    try:
        path.unlink()
    except FileNotFoundError:
        echo(f"{path} is not installed")
    except OSError as exc:
        echo(f"cannot remove {path}: {exc.strerror}; run it with sudo")
        return 1
    else:
        echo(f"removed {path}")
    if booted:
        return 0 if _systemctl(systemd, ["daemon-reload"], echo) else 1
    _not_booted("stopped", [f"sudo systemctl disable --now {SERVICE} && sudo systemctl daemon-reload"], echo)
    return 0


def status(unit_dir: Path, systemd: Systemd, echo: Echo) -> int:
    """``systemctl status`` where systemd runs (its exit code: 0 active, 3 not running...);
    elsewhere what is installed and that systemd cannot run it here (exit code 3)."""
    path = unit_dir / UNIT_NAME
    if systemd.booted():
        code, output = systemd.run(["status", "--no-pager", "--lines=20", SERVICE])
        echo(output)
        return code
    if path.exists():
        exec_start = next(
            (line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("ExecStart=")),
            "",
        )
        echo(f"{path} is installed: {exec_start}")
    else:
        echo(f"{path} is not installed (`signage service install` writes it)")
    echo(f"systemd is not running here (PID 1 is {init_process()}): the service cannot run or be asked")
    return 3
