"""Screen power: switching the panel off outside opening hours, and the record of each change.

``ScreenPower`` is the edge; one implementation is chosen at start-up (``choose_power``) and the
choice logged once:

* ``x11-dpms``: ``xset dpms force off|on`` when ``DISPLAY`` is set and ``xset`` exists (monitors);
* ``cec-ctl`` / ``cec-client``: HDMI-CEC standby and "image view on" for a TV on HDMI;
* ``black``: nothing to switch; the player draws black (it always does while closed, so a panel
  that wakes on its own shows black, never an ad).

A failing command is reported once per transition, in one sentence, and never raised: the loop
goes on whatever the panel does. Commands are short and run twice a day, so they run inline
with a timeout.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from signage.fleet.uplink_protocol import PowerState

log = logging.getLogger(__name__)

PowerReason = Literal["hours", "manual", "alert"]
COMMAND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PowerEvent:
    """One change of the screen's power, as stored (table ``power_event``) and shipped by the sync."""

    screen_id: str
    at: datetime  # UTC
    state: PowerState
    reason: PowerReason
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class PowerEventSink(Protocol):
    def write_power_event(self, event: PowerEvent) -> None:
        """Queue one power change for the store (never raises for bad data: it reports it)."""


class ScreenPower(Protocol):
    name: str  # how the choice is logged: "x11-dpms", "cec-ctl", "cec-client", "black"

    def on(self) -> None:
        """Wake the panel; a failure is logged, never raised."""

    def off(self) -> None:
        """Put the panel to sleep; a failure is logged, never raised."""


# (argv, stdin text) -> (exit code, first line of stderr); raises OSError when it cannot start.
CommandRunner = Callable[[Sequence[str], str | None], tuple[int, str]]


def run_command(argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, f"no answer within {COMMAND_TIMEOUT_S:g} s"
    lines = (done.stderr or done.stdout or "").strip().splitlines()
    return done.returncode, lines[0] if lines else ""


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    stdin: str | None = None

    def __str__(self) -> str:
        shown = " ".join(self.argv)
        return f"echo {self.stdin.strip()!r} | {shown}" if self.stdin else shown


class CommandPower:
    """A ``ScreenPower`` that runs one command to switch off and one to switch on."""

    def __init__(self, name: str, on: Command, off: Command, run: CommandRunner = run_command) -> None:
        self.name = name
        self._commands = {"on": on, "off": off}
        self._run = run

    def on(self) -> None:
        self._switch("on")

    def off(self) -> None:
        self._switch("off")

    def _switch(self, state: PowerState) -> None:
        command = self._commands[state]
        try:
            code, detail = self._run(command.argv, command.stdin)
        except OSError as exc:
            code, detail = -1, exc.strerror or str(exc)
        if code != 0:
            log.warning(
                "could not switch the screen %s with `%s` (exit %d%s)",
                state,
                command,
                code,
                f": {detail}" if detail else "",
            )
        else:
            log.info("screen switched %s (%s)", state, self.name)


class BlackScreen:
    """No panel control: the player's black picture is all there is."""

    name = "black"

    def on(self) -> None:
        pass  # the player draws again

    def off(self) -> None:
        pass  # the player draws black


class FakePower:
    """Records each call, for tests."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[PowerState] = []

    def on(self) -> None:
        self.calls.append("on")

    def off(self) -> None:
        self.calls.append("off")


def x11_dpms(run: CommandRunner = run_command) -> CommandPower:
    return CommandPower(
        "x11-dpms",
        on=Command(("xset", "dpms", "force", "on")),
        off=Command(("xset", "dpms", "force", "off")),
        run=run,
    )


def cec_ctl(run: CommandRunner = run_command) -> CommandPower:
    return CommandPower(
        "cec-ctl",
        on=Command(("cec-ctl", "--to", "0", "--image-view-on")),
        off=Command(("cec-ctl", "--to", "0", "--standby")),
        run=run,
    )


def cec_client(run: CommandRunner = run_command) -> CommandPower:
    return CommandPower(
        "cec-client",
        on=Command(("cec-client", "-s", "-d", "1"), "on 0\n"),
        off=Command(("cec-client", "-s", "-d", "1"), "standby 0\n"),
        run=run,
    )


def choose_power(
    *,
    headless: bool,
    environ: Mapping[str, str] | None = None,
    which: Callable[[str], str | None] = shutil.which,
    run: CommandRunner = run_command,
) -> ScreenPower:
    """The panel control this machine offers, logged once. A headless player switches nothing."""
    env = os.environ if environ is None else environ
    chosen: ScreenPower
    if headless:
        chosen, why = BlackScreen(), "the player runs headless"
    elif env.get("DISPLAY") and which("xset"):
        chosen, why = x11_dpms(run), f"DISPLAY={env['DISPLAY']} and xset is installed"
    elif which("cec-ctl"):
        chosen, why = cec_ctl(run), "cec-ctl is installed"
    elif which("cec-client"):
        chosen, why = cec_client(run), "cec-client is installed"
    else:
        chosen, why = BlackScreen(), "neither xset (with DISPLAY), cec-ctl nor cec-client is available"
    log.info("screen power outside opening hours: %s (%s)", chosen.name, why)
    return chosen
