"""The systemd unit that runs the player at boot, restarts it on failure and watches it.

``render_unit`` is pure: a ``UnitSpec`` in, the text of ``signage.service`` out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "signage.service"
STATE_ROOT = Path("/var/lib")
WATCHDOG_S = 30


@dataclass(frozen=True)
class UnitSpec:
    user: str
    exec_start: tuple[str, ...]  # the player's command line, the executable first
    data_dir: Path
    display: str | None = ":0"  # None: a headless screen (no X server to wait for)
    xauthority: Path | None = None
    watchdog_s: int = WATCHDOG_S
    restart_s: int = 5
    start_timeout_s: int = 120  # READY=1 comes once the first play is on screen
    stop_timeout_s: int = 30
    documentation: str = ""

    @property
    def state_directory(self) -> str | None:
        """The ``StateDirectory=`` name when the data dir is under /var/lib (systemd creates it,
        owned by the user); None for a data dir elsewhere, which must exist already."""
        try:
            relative = self.data_dir.relative_to(STATE_ROOT)
        except ValueError:
            return None
        return str(relative) if relative.parts else None


_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def systemd_quote(arg: str) -> str:
    """One word of an ``ExecStart=`` line: ``%`` specifiers and ``$`` variables escaped, quoted
    when it holds anything but plain path characters."""
    if not arg:
        return '""'
    text = arg.replace("%", "%%").replace("$", "$$")
    if _PLAIN.match(arg):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _environment(name: str, value: str) -> str:
    return f"Environment={systemd_quote(f'{name}={value}')}"


def render_unit(spec: UnitSpec) -> str:
    after = ["network-online.target"]
    if spec.display is not None:
        after += ["graphical.target", "display-manager.service"]
    service = [
        "Type=notify",
        "NotifyAccess=main",
        f"User={spec.user}",
        "ExecStart=" + " ".join(systemd_quote(a) for a in spec.exec_start),
        "Restart=on-failure",
        f"RestartSec={spec.restart_s}",
        f"WatchdogSec={spec.watchdog_s}",
        f"TimeoutStartSec={spec.start_timeout_s}",
        f"TimeoutStopSec={spec.stop_timeout_s}",
    ]
    if spec.state_directory is not None:
        service.append(f"StateDirectory={spec.state_directory}")
    service.append(f"WorkingDirectory={systemd_quote(str(spec.data_dir))}")
    if spec.display is not None:
        service.append(_environment("DISPLAY", spec.display))
        if spec.xauthority is not None:
            service.append(_environment("XAUTHORITY", str(spec.xauthority)))
    service += [
        _environment("PYTHONUNBUFFERED", "1"),
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=signage",
    ]
    unit = [
        "Description=Audience-aware digital-signage player",
        *([f"Documentation={spec.documentation}"] if spec.documentation else []),
        "Wants=network-online.target",
        f"After={' '.join(after)}",
        "# Keep restarting: a screen must come back once what failed (a file, the camera) is fixed.",
        "StartLimitIntervalSec=0",
    ]
    target = "graphical.target" if spec.display is not None else "multi-user.target"
    lines = [
        "# Written by `signage service install`; run it again to change this file.",
        "[Unit]",
        *unit,
        "",
        "[Service]",
        *service,
        "",
        "[Install]",
        f"WantedBy={target}",
    ]
    return "\n".join(lines) + "\n"
