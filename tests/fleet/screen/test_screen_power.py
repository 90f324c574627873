"""Screen power: which control is chosen, the commands it runs, failures logged and never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pytest

from signage.fleet.power import BlackScreen, Command, CommandPower, choose_power


class Runner:
    def __init__(self, code: int = 0, detail: str = "", error: OSError | None = None) -> None:
        self.code, self.detail, self.error = code, detail, error
        self.calls: list[tuple[tuple[str, ...], str | None]] = []

    def __call__(self, argv: Sequence[str], stdin: str | None) -> tuple[int, str]:
        self.calls.append((tuple(argv), stdin))
        if self.error is not None:
            raise self.error
        return self.code, self.detail


def which(*present: str) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in present else None


@pytest.mark.parametrize(
    ("env", "present", "name"),
    [
        ({"DISPLAY": ":0"}, ("xset", "cec-ctl"), "x11-dpms"),
        ({}, ("xset", "cec-ctl", "cec-client"), "cec-ctl"),
        ({"DISPLAY": ":0"}, ("cec-client",), "cec-client"),
        ({"DISPLAY": ":0"}, (), "black"),
    ],
)
def test_the_control_is_chosen_by_what_the_machine_offers_and_logged(
    env: dict[str, str], present: tuple[str, ...], name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "signage.fleet.power"):
        power = choose_power(headless=False, environ=env, which=which(*present), run=Runner())
    assert power.name == name
    (record,) = caplog.records
    assert f"screen power outside opening hours: {name}" in record.getMessage()


def test_a_headless_player_switches_nothing() -> None:
    power = choose_power(headless=True, environ={"DISPLAY": ":0"}, which=which("xset"))
    assert isinstance(power, BlackScreen)


def test_each_control_runs_its_commands() -> None:
    runs = {}
    for present, env in ((("xset",), {"DISPLAY": ":0"}), (("cec-ctl",), {}), (("cec-client",), {})):
        runner = Runner()
        power = choose_power(headless=False, environ=env, which=which(*present), run=runner)
        power.off()
        power.on()
        runs[power.name] = runner.calls
    assert runs == {
        "x11-dpms": [(("xset", "dpms", "force", "off"), None), (("xset", "dpms", "force", "on"), None)],
        "cec-ctl": [
            (("cec-ctl", "--to", "0", "--standby"), None),
            (("cec-ctl", "--to", "0", "--image-view-on"), None),
        ],
        "cec-client": [
            (("cec-client", "-s", "-d", "1"), "standby 0\n"),
            (("cec-client", "-s", "-d", "1"), "on 0\n"),
        ],
    }


@pytest.mark.parametrize(
    "runner",
    [
        Runner(1, "unable to open the display"),
        Runner(error=FileNotFoundError(2, "No such file or directory")),
    ],
)
def test_a_failing_command_is_logged_once_per_switch_and_never_raised(
    runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    power = CommandPower("x", on=Command(("power", "on")), off=Command(("power", "off")), run=runner)
    with caplog.at_level(logging.WARNING, "signage.fleet.power"):
        power.off()
        power.on()
    assert [r.getMessage().split(" with ")[0] for r in caplog.records] == [
        "could not switch the screen off",
        "could not switch the screen on",
    ]
    assert runner.detail in caplog.records[0].getMessage() or "No such file" in caplog.records[0].getMessage()
