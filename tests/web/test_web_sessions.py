"""Server-side sessions: a copied cookie dies at logout, password reset, account removal and expiry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from web_data import NOW, PASSWORD, client_for, csrf_of, log_in

from signage.cli import app as cli_app
from signage.clock import FakeClock
from signage.store.engine import make_engine
from signage.store.migrate import downgrade, upgrade
from signage.web.sessions import WEB_SESSION, SessionPolicy, SessionStore, count_sessions
from signage.web.users import Role, add_user, get_user, remove_user

COOKIE = "signage_session"


def copy_of(client: TestClient, engine: sa.Engine, wall: FakeClock | None = None) -> TestClient:
    """Another browser holding a copy of ``client``'s session cookie (a stolen cookie)."""
    other = client_for(engine, wall=wall)
    other.cookies.set(COOKIE, client.cookies[COOKIE])
    return other


def test_the_cookie_holds_only_a_random_id_and_the_table_only_its_digest(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "alice") == 303
    session_id = client.cookies[COOKIE]
    assert "alice" not in session_id and len(session_id) >= 43
    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.select(WEB_SESSION)).mappings().all()
    assert [r["id_sha256"] for r in rows] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert rows[0]["username"] == "alice"
    assert client.get("/api/campaigns").status_code == 200


def test_a_forged_cookie_naming_a_user_is_no_session(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    for forged in ("admin", '{"user": "admin"}', "x" * 43):
        client.cookies.set(COOKIE, forged)
        assert client.get("/api/campaigns").status_code == 401


def test_a_copied_cookie_stops_working_at_logout(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "alice") == 303
    stolen = copy_of(client, fresh_engine)
    assert stolen.get("/api/campaigns").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/")}).status_code == 303
    assert stolen.get("/api/campaigns").status_code == 401
    assert count_sessions(fresh_engine, "alice") == 0


def test_a_password_reset_ends_every_session_of_the_account(fresh_engine: sa.Engine) -> None:
    first, second, bob = (client_for(fresh_engine) for _ in range(3))
    assert log_in(first, "alice") == 303 and log_in(second, "alice") == 303 and log_in(bob, "bob") == 303
    stolen = copy_of(first, fresh_engine)
    add_user(fresh_engine, "alice", "a brand new passphrase", Role.ADVERTISER, "acme", NOW)
    for client in (first, second, stolen):
        assert client.get("/api/campaigns").status_code == 401
    assert bob.get("/api/campaigns").status_code == 200  # other accounts keep theirs


def test_a_removed_and_recreated_account_does_not_revive_old_sessions(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "alice") == 303
    stolen = copy_of(client, fresh_engine)
    assert remove_user(fresh_engine, "alice") == 1
    add_user(fresh_engine, "alice", PASSWORD, Role.ADVERTISER, "acme", NOW)
    assert stolen.get("/api/campaigns").status_code == 401
    assert client.get("/api/campaigns").status_code == 401


def test_users_remove_deletes_the_account_and_its_sessions(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "bob") == 303
    url = fresh_engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli_app, ["users", "remove", "bob", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "account bob removed (1 session ended)" in result.output
    assert get_user(fresh_engine, "bob") is None
    assert client.get("/api/campaigns").status_code == 401
    again = CliRunner().invoke(cli_app, ["users", "remove", "bob", "--database-url", url])
    assert again.exit_code == 2 and "there is no account 'bob'" in again.output


def test_a_session_ends_after_its_idle_timeout_and_its_maximum_age(fresh_engine: sa.Engine) -> None:
    wall = FakeClock(start_utc=NOW)
    client = client_for(fresh_engine, wall=wall, session_idle_s=600, session_max_age_s=3600)
    assert log_in(client, "alice") == 303
    for _ in range(5):  # used every 9 minutes: stays alive past the idle timeout...
        wall.advance(540)
        assert client.get("/api/campaigns").status_code == 200
    wall.advance(3600 - 5 * 540)  # ...but not past its maximum age
    assert client.get("/api/campaigns").status_code == 401

    idle = client_for(fresh_engine, wall=wall, session_idle_s=600, session_max_age_s=3600)
    assert log_in(idle, "bob") == 303
    wall.advance(601)
    assert idle.get("/api/campaigns").status_code == 401


def test_logging_in_again_replaces_the_previous_session(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "alice") == 303
    before = client.cookies[COOKIE]
    stolen = copy_of(client, fresh_engine)
    assert log_in(client, "alice") == 303
    assert client.cookies[COOKIE] != before  # no fixation: a new id at each login
    assert stolen.get("/api/campaigns").status_code == 401
    assert count_sessions(fresh_engine, "alice") == 1


def test_the_logout_form_token_belongs_to_the_session(fresh_engine: sa.Engine) -> None:
    alice, bob = client_for(fresh_engine), client_for(fresh_engine)
    assert log_in(alice, "alice") == 303 and log_in(bob, "bob") == 303
    # A token from another session (or the login form) does not log this one out.
    assert bob.post("/logout", data={"csrf_token": csrf_of(alice, "/")}).status_code == 403
    assert bob.post("/logout", data={"csrf_token": csrf_of(client_for(fresh_engine))}).status_code == 403
    assert bob.get("/api/campaigns").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_matches_the_model_and_sessions_go_with_their_account(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    inspector = sa.inspect(engine)
    columns = {c["name"]: c["nullable"] for c in inspector.get_columns("web_session")}
    assert columns == {c.name: c.nullable for c in WEB_SESSION.columns}
    assert {i["name"] for i in inspector.get_indexes("web_session")} == {i.name for i in WEB_SESSION.indexes}
    add_user(engine, "carol", PASSWORD, Role.ADMIN, None, NOW)
    store = SessionStore(engine, SessionPolicy(max_age_s=60, idle_s=60))
    session_id = store.create("carol", NOW)
    assert store.username(session_id, NOW) == "carol"
    with engine.begin() as conn:  # an operator deleting the account by hand
        conn.execute(sa.text("DELETE FROM web_user WHERE username = 'carol'"))
    assert count_sessions(engine, "carol") == 0
    downgrade(engine, "0003_catalog_status")
    assert "web_session" not in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_logging_out_of_an_expired_session_just_goes_to_the_login(fresh_engine: sa.Engine) -> None:
    wall = FakeClock(start_utc=NOW)
    client = client_for(fresh_engine, wall=wall, session_idle_s=60)
    assert log_in(client, "alice") == 303
    token = csrf_of(client, "/")
    wall.advance(61)
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert count_sessions(fresh_engine, "alice") == 0  # the dead row went too
