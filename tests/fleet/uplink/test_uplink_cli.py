"""`signage sync` with fleet.server_url: the rows go to the central server over HTTP, no database URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from uplink_helpers import Central, local_store

from signage.cli import app

pytestmark = pytest.mark.postgres
runner = CliRunner()


def config(tmp_path: Path, server_url: str) -> Path:
    path = tmp_path / "signage.yaml"
    path.write_text(
        f"screen_id: screen-a\ndata_dir: {tmp_path}\nfleet:\n  server_url: {server_url}\n  central_url: null\n"
    )
    return path


def test_sync_once_ships_to_the_server_with_the_screen_token(tmp_path: Path, central: Central) -> None:
    local_store(tmp_path / "signage.db", 12, "screen-a").dispose()
    settings = config(tmp_path, central.url)
    missing = runner.invoke(app, ["sync", "--once", "--config", str(settings)])
    assert missing.exit_code == 2 and "no screen token" in missing.output
    (tmp_path / "fleet-token").write_text(central.tokens["screen-a"])
    result = runner.invoke(app, ["sync", "--once", "--config", str(settings)])
    assert result.exit_code == 0, result.output
    assert f"synced 15 row(s) to {central.url} in 1 pass(es)" in result.output  # 12 plays, 2 cells, 1 beat
    assert central.count("play") == 12
    (tmp_path / "fleet-token").write_text(central.tokens["screen-b"])  # another screen's token
    local_store(tmp_path / "more.db", 1, "screen-a").dispose()
    other = runner.invoke(
        app, ["sync", "--once", "--config", str(settings), "--local", f"sqlite:///{tmp_path / 'more.db'}"]
    )
    assert other.exit_code == 1 and "HTTP 403" in other.output
    assert central.count("play") == 12
