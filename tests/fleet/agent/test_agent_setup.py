"""Joining a fleet: the settings, `signage fleet join`, starting and stopping the agent."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_helpers import make_agent, publish, release_files
from typer.testing import CliRunner

from signage.cli import app as cli
from signage.clock import FakeClock
from signage.fleet.agent.client import FleetError, read_token
from signage.fleet.agent.fake import FakeFleetClient
from signage.fleet.agent.wiring import start_agent, token_path
from signage.settings import FleetSettings, Settings, load_settings
from signage.yamlconf import ConfigError


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_fleet_settings_default_to_no_fleet_and_resolve_the_token_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.fleet.server_url is None
    assert settings.fleet.poll_interval_s == 60.0 and settings.fleet.disk_budget_mb == 2048
    assert token_path(settings) == tmp_path / "fleet-token"
    elsewhere = Settings(data_dir=tmp_path, fleet=FleetSettings(token_file=Path("/etc/signage/token")))
    assert token_path(elsewhere) == Path("/etc/signage/token")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("server_url: ftp://fleet.example.com", "not a server URL"),
        ("server_url: https://me:secret@fleet.example.com", "no user or password"),
        ("server_url: https://fleet.example.com/?screen=1", "no query or fragment"),
        ("server_url: https://fleet.example.com:70000", "not a server URL"),
        ("poll_interval_s: 1", "greater than or equal to 5"),
        ("disk_budget_mb: 0", "greater than or equal to 1"),
        ("tokenfile: x", "unknown key"),
    ],
)
def test_bad_fleet_settings_are_refused_at_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "signage.yaml"
    path.write_text(f"data_dir: data\nfleet:\n  {line}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    finding = caught.value.findings[0]
    assert finding.line == 3 and message in finding.message


def test_good_fleet_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "signage.yaml"
    path.write_text("fleet:\n  server_url: https://fleet.example.com:8443/signage\n  poll_interval_s: 30\n")
    fleet = load_settings(path).fleet
    assert fleet.server_url == "https://fleet.example.com:8443/signage" and fleet.poll_interval_s == 30


def test_join_without_a_server_check_saves_the_token_0600(tmp_path: Path) -> None:
    settings = tmp_path / "signage.yaml"
    settings.write_text("data_dir: data\n")
    runner = CliRunner()
    base = ["fleet", "join", "--server", "https://fleet.example.com", "-c", str(settings)]
    assert runner.invoke(cli, base, input="tok\n").exit_code == 2  # no --token-stdin: refused
    bad = runner.invoke(cli, [*base, "--token-stdin", "--no-check"], input="two words\n")
    assert bad.exit_code == 2 and "not one line of printable ASCII" in bad.output
    wrong_url = runner.invoke(
        cli, ["fleet", "join", "--server", "fleet.example.com", "--token-stdin"], input="t\n"
    )
    assert wrong_url.exit_code == 2 and "not a server URL" in wrong_url.output
    ok = runner.invoke(cli, [*base, "--token-stdin", "--no-check"], input="s3cr3t-token\n")
    assert ok.exit_code == 0, ok.output
    token = tmp_path / "data" / "fleet-token"
    assert stat.S_IMODE(os.stat(token).st_mode) == 0o600
    assert read_token(token) == "s3cr3t-token"
    again = runner.invoke(cli, [*base, "--token-stdin", "--no-check"], input="rotated\n")
    assert again.exit_code == 0 and read_token(token) == "rotated"
    assert [p.name for p in token.parent.iterdir()] == ["fleet-token"]  # no temporary file left


def test_a_missing_token_says_how_to_join(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="signage fleet join --server URL --token-stdin"):
        read_token(tmp_path / "fleet-token")


def test_without_a_token_no_agent_starts_and_the_player_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, fleet=FleetSettings(server_url="https://fleet.example.com"))
    store = make_agent(tmp_path, FakeFleetClient())[1]
    with caplog.at_level(logging.ERROR), contextlib.ExitStack() as stack:
        assert start_agent(settings, store, threading.Event(), FakeClock(), stack) is None
    assert caplog.messages == [
        f"fleet agent not started: no fleet token at {tmp_path / 'fleet-token'}; run 'signage fleet join "
        "--server URL --token-stdin'; the release in force keeps playing"
    ]


def test_the_agent_thread_polls_at_once_when_woken_and_stops_with_the_stop_event(tmp_path: Path) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    agent.poll_interval_s = 3600.0  # only wake-ups poll in this test
    agent.start()
    try:
        assert wait_for(lambda: store.current_release_id() == "north#1")
        assert client.polls == 1
        publish(client, 2, release_files("summer"))
        agent.wake()
        assert wait_for(lambda: store.current_release_id() == "north#2")
        assert client.polls == 2
    finally:
        agent.stop_and_join()
    assert not agent._thread.is_alive() and agent._stop.is_set()
