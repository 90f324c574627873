"""`signage fleet groups remove|show` and `stores remove` on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from signage.fleet.central.alerts import list_alerts
from signage.fleet.central.auth import ScreenPrincipal
from signage.fleet.central.registry import get_screen, groups_of, list_groups, list_stores
from signage.fleet.central.state import screen_state
from signage.fleet.central.status_table import store_status
from signage.fleet.uplink_protocol import ScreenStatus
from tests.fleet.central.conftest import Cli, Content

pytestmark = pytest.mark.postgres


def setup_fleet(cli: Cli) -> None:
    assert cli("stores", "add", "paris", "--timezone", "Europe/Paris")[0] == 0
    assert cli("stores", "add", "lyon", "--timezone", "Europe/Paris")[0] == 0
    for screen in ("scr-1", "scr-2"):
        assert cli("screens", "add", screen, "--store", "paris", "--tag", "region=north")[0] == 0
    assert cli("groups", "add", "north", "--tag", "region=north")[0] == 0
    assert cli("groups", "add", "empty", "--screen", "scr-1")[0] == 0


def test_a_group_without_history_is_deleted_and_its_name_freed(cli: Cli, engine: Engine) -> None:
    setup_fleet(cli)
    code, out, _ = cli("groups", "remove", "empty")
    assert code == 0 and "group empty deleted" in out
    assert cli("groups", "add", "empty", "--screen", "scr-2")[0] == 0
    code, _, out = cli("groups", "remove", "nowhere")
    assert code == 1 and "no group 'nowhere'" in out


def test_a_group_with_releases_is_refused_then_detached_with_force(
    cli: Cli, engine: Engine, make_content: Callable[..., Content]
) -> None:
    setup_fleet(cli)
    content = make_content()
    assert (
        cli("publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules))[
            0
        ]
        == 0
    )
    assert cli("alert", "--group", "north", "--message", "Use the north exit")[0] == 0
    code, _, out = cli("groups", "remove", "north")
    assert code == 1 and out.count("\n") == 1
    assert "group 'north' has 1 release(s) and 1 alert(s)" in out and "--force" in out
    with engine.connect() as conn:
        assert "north" in {g.name for g in list_groups(conn)}  # nothing changed

    code, out, _ = cli("groups", "remove", "north", "--force")
    assert code == 0 and "kept for audit" in out
    with engine.connect() as conn:
        assert "north" not in {g.name for g in list_groups(conn)}
        screen = get_screen(conn, "scr-2")
        assert screen is not None and groups_of(conn, screen) == ()
        state = screen_state(
            conn, ScreenPrincipal("scr-2", "paris", groups_of(conn, screen)), datetime.now(UTC)
        )
        assert state.release is None
        assert [a.cleared for a in list_alerts(conn, group="north")] == [True]
    code, out, _ = cli("releases", "list", "--group", "north")
    assert code == 0 and "north#1" in out  # kept for audit
    code, _, out = cli(
        "publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules)
    )
    assert code == 1 and "no group 'north'" in out
    code, _, out = cli("groups", "add", "north", "--tag", "region=north")
    assert code == 1 and "was removed on" in out and "choose another name" in out


def test_groups_show_lists_members_release_and_alerts(
    cli: Cli, engine: Engine, make_content: Callable[..., Content]
) -> None:
    setup_fleet(cli)
    code, out, _ = cli("groups", "show", "north")
    assert code == 0 and "release: none yet" in out and "active alerts: 0" in out
    content = make_content()
    assert (
        cli("publish", "--group", "north", "--catalog", str(content.catalog), "--rules", str(content.rules))[
            0
        ]
        == 0
    )
    assert cli("alert", "--group", "north", "--message", "Closing early today")[0] == 0
    with engine.begin() as conn:
        status = ScreenStatus(datetime.now(UTC), "north#1", True, None, "ad-a", 3)
        store_status(conn, status, "scr-1", datetime.now(UTC))
    code, out, _ = cli("groups", "show", "north")
    assert code == 0, out
    assert "group north: tags region=north" in out
    assert "release: north#1" in out and "(1 in all)" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  scr-")}
    assert "should play north#1" in lines["scr-1"] and "says north#1 (heard" in lines["scr-1"]
    assert "says never heard" in lines["scr-2"]
    assert "active alerts: 1" in out and "Closing early today" in out


def test_a_store_is_removed_only_without_active_screens(cli: Cli, engine: Engine) -> None:
    setup_fleet(cli)
    code, _, out = cli("stores", "remove", "paris")
    assert code == 1 and "still has 2 active screen(s) (scr-1, scr-2)" in out
    code, out, _ = cli("stores", "remove", "lyon")
    assert code == 0 and "store lyon removed" in out
    with engine.connect() as conn:
        assert [s.store_id for s in list_stores(conn)] == ["paris"]
    code, _, out = cli("screens", "add", "scr-9", "--store", "lyon")
    assert code == 1 and "no store 'lyon'" in out
    assert cli("stores", "add", "lyon", "--timezone", "Europe/Paris")[0] == 0
    assert cli("screens", "add", "scr-9", "--store", "lyon")[0] == 0
