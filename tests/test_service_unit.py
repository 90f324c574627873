"""The systemd unit: what it says, that systemd's own checker accepts it, and how it gets installed."""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signage.cli import app
from signage.service.install import InstallRequest, install, status, uninstall, unit_spec
from signage.service.unit import UNIT_NAME, UnitSpec, render_unit, systemd_quote


def directives(text: str) -> dict[str, dict[str, list[str]]]:
    """``[Section] -> key -> values`` (a key may repeat: Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def unquote_exec(value: str) -> list[str]:
    """An ExecStart= line as systemd splits it (double quotes; %% and $$ escapes)."""
    return [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(value, posix=True)]


class FakeSystemd:
    def __init__(self, booted: bool, fail: Sequence[str] = ()) -> None:
        self._booted = booted
        self.fail = set(fail)
        self.calls: list[list[str]] = []

    def booted(self) -> bool:
        return self._booted

    def run(self, args: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(args))
        if args[0] in self.fail:
            return 1, f"Failed to {args[0]}"
        if args[0] == "status":
            return 0, "● signage.service - Audience-aware digital-signage player\n   Active: active (running)"
        return 0, ""


ME = pwd.getpwuid(os.getuid()).pw_name  # a user that exists here


def spec(data_dir: Path = Path("/var/lib/signage"), display: str | None = ":0") -> UnitSpec:
    return UnitSpec(
        user="signage",
        exec_start=("/opt/signage/.venv/bin/signage", "run", "--config", "/etc/signage/signage.yaml"),
        data_dir=data_dir,
        display=display,
        xauthority=Path("/home/signage/.Xauthority") if display else None,
    )


def test_the_unit_is_a_watched_notify_service_started_after_display_and_network() -> None:
    unit = directives(render_unit(spec()))
    service = unit["Service"]
    assert service["Type"] == ["notify"] and service["NotifyAccess"] == ["main"]
    assert service["Restart"] == ["on-failure"]
    assert service["WatchdogSec"] == ["30"]
    assert service["User"] == ["signage"]
    assert service["StateDirectory"] == ["signage"]  # systemd creates /var/lib/signage for the user
    assert service["StandardOutput"] == ["journal"] and service["StandardError"] == ["journal"]
    assert "DISPLAY=:0" in service["Environment"]
    assert "XAUTHORITY=/home/signage/.Xauthority" in service["Environment"]
    after = unit["Unit"]["After"][0].split()
    assert {"network-online.target", "graphical.target", "display-manager.service"} <= set(after)
    assert unit["Unit"]["Wants"] == ["network-online.target"]
    assert unit["Install"]["WantedBy"] == ["graphical.target"]
    assert unquote_exec(service["ExecStart"][0]) == list(spec().exec_start)


def test_a_headless_unit_waits_for_the_network_only_and_a_data_dir_elsewhere_is_not_a_state_directory() -> (
    None
):
    unit = directives(render_unit(spec(Path("/srv/signage"), display=None)))
    service = unit["Service"]
    assert "StateDirectory" not in service
    assert service["WorkingDirectory"] == ["/srv/signage"]
    assert not any(v.startswith("DISPLAY=") for v in service["Environment"])
    assert unit["Unit"]["After"] == ["network-online.target"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.parametrize(
    "word", ["/plain/path", "/with space/x", 'say "hi"', "50%", "$HOME", "back\\slash", ""]
)
def test_exec_start_words_survive_systemd_quoting(word: str) -> None:
    assert unquote_exec(systemd_quote(word)) == [word]


def test_install_builds_exec_start_from_the_request(tmp_path: Path) -> None:
    config = tmp_path / "signage.yaml"
    request = InstallRequest(user="kiosk", data_dir=tmp_path / "data", config=config, display=None)
    built = unit_spec(request, command="/venv/bin/signage")
    assert built.exec_start == (
        "/venv/bin/signage", "run", "--config", str(config), "--data-dir", str(tmp_path / "data"), "--headless",
    )  # fmt: skip
    assert built.user == "kiosk" and built.display is None


def test_install_without_systemd_writes_the_unit_and_says_what_to_run(tmp_path: Path) -> None:
    systemd, out = FakeSystemd(booted=False), list[str]()
    request = InstallRequest(user=ME, data_dir=tmp_path / "data", config=None, unit_dir=tmp_path / "units")
    assert install(request, systemd, out.append, command="/venv/bin/signage") == 0
    unit = (tmp_path / "units" / UNIT_NAME).read_text()
    assert directives(unit)["Service"]["User"] == [ME]
    assert (tmp_path / "data").is_dir()  # not under /var/lib: created here
    text = "\n".join(out)
    assert "systemd is not running here" in text
    assert "systemctl daemon-reload && sudo systemctl enable --now signage" in text
    assert systemd.calls == []


def test_install_with_systemd_reloads_and_enables_it(tmp_path: Path) -> None:
    systemd = FakeSystemd(booted=True)
    request = InstallRequest(user=ME, data_dir=tmp_path / "data", config=None, unit_dir=tmp_path / "units")
    assert install(request, systemd, lambda _line: None, command="/venv/bin/signage") == 0
    assert systemd.calls == [["daemon-reload"], ["enable", "--now", "signage"]]


def test_a_failing_systemctl_fails_the_install(tmp_path: Path) -> None:
    systemd, out = FakeSystemd(booted=True, fail=["enable"]), list[str]()
    request = InstallRequest(user=ME, data_dir=tmp_path / "data", config=None, unit_dir=tmp_path / "units")
    assert install(request, systemd, out.append, command="/venv/bin/signage") == 1
    assert any("systemctl enable --now signage` failed" in line for line in out)


def test_an_unknown_user_is_refused(tmp_path: Path) -> None:
    out: list[str] = []
    request = InstallRequest(
        user="no-such-user-x", data_dir=tmp_path / "d", config=None, unit_dir=tmp_path / "u"
    )
    assert install(request, FakeSystemd(booted=False), out.append, command="/venv/bin/signage") == 1
    assert "there is no user 'no-such-user-x' here" in out[-1]
    assert not (tmp_path / "u").exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    out: list[str] = []
    request = InstallRequest(
        user="kiosk", data_dir=tmp_path / "data", config=None, unit_dir=tmp_path / "units"
    )
    assert (
        install(request, FakeSystemd(booted=True), out.append, dry_run=True, command="/venv/bin/signage") == 0
    )
    assert not (tmp_path / "units").exists() and not (tmp_path / "data").exists()
    assert any(line.startswith("ExecStart=/venv/bin/signage run") for line in "\n".join(out).splitlines())


def test_an_unwritable_unit_dir_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    out: list[str] = []
    request = InstallRequest(user=ME, data_dir=tmp_path / "data", config=None, unit_dir=blocker / "units")
    assert install(request, FakeSystemd(booted=False), out.append, command="/venv/bin/signage") == 1
    assert out and out[-1].startswith(f"cannot write {blocker / 'units' / UNIT_NAME}")


def test_uninstall_and_status(tmp_path: Path) -> None:
    request = InstallRequest(user=ME, data_dir=tmp_path / "data", config=None, unit_dir=tmp_path)
    install(request, FakeSystemd(booted=False), lambda _line: None, command="/venv/bin/signage")
    out: list[str] = []
    assert status(tmp_path, FakeSystemd(booted=False), out.append) == 3
    assert "is installed: ExecStart=/venv/bin/signage run" in out[0]
    booted = FakeSystemd(booted=True)
    assert status(tmp_path, booted, out.append) == 0
    assert booted.calls == [["status", "--no-pager", "--lines=20", "signage"]]
    assert uninstall(tmp_path, booted, out.append) == 0
    assert booted.calls[1:] == [["disable", "--now", "signage"], ["daemon-reload"]]
    assert not (tmp_path / UNIT_NAME).exists()
    out.clear()
    assert status(tmp_path, FakeSystemd(booted=False), out.append) == 3
    assert "is not installed" in out[0]


def test_cli_install_checks_the_settings_first(tmp_path: Path) -> None:
    bad = tmp_path / "signage.yaml"
    bad.write_text("camera:\n  fps: -1\n")
    result = CliRunner().invoke(app, ["service", "install", "--config", str(bad), "--dry-run"])
    assert result.exit_code == 2
    assert f"{bad}:2:8" in result.output


def test_cli_install_dry_run_takes_the_data_dir_from_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "signage.yaml"
    config.write_text("data_dir: store-data\n")
    result = CliRunner().invoke(
        app, ["service", "install", "--config", str(config), "--user", "kiosk", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    service = directives(result.output)["Service"]
    assert unquote_exec(service["ExecStart"][0])[1:] == [
        "run", "--config", str(config), "--data-dir", str(tmp_path / "store-data"),
    ]  # fmt: skip
    assert service["User"] == ["kiosk"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    executable = shutil.which("true") or "/bin/true"  # verify checks that ExecStart's program exists
    request = InstallRequest(user="root", data_dir=Path("/var/lib/signage"), config=tmp_path / "s.yaml",
                             unit_dir=tmp_path)  # fmt: skip
    path = tmp_path / UNIT_NAME
    path.write_text(render_unit(unit_spec(request, command=executable)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    # verify exits 0 on a directive it ignores, but says so: no output at all means every line was understood.
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
