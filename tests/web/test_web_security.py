"""Login, roles, scoping in queries, CSRF and cookie flags, through the real app."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from web_data import PASSWORD, client_for, csrf_of, log_in


def test_unauthenticated_api_and_pages_are_refused(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert client.get("/api/campaigns").status_code == 401
    assert client.get("/api/campaigns/summer-cola").status_code == 401
    r = client.get("/campaigns/summer-cola")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/campaigns/summer-cola/export.csv").status_code == 303
    assert client.get("/admin/screens").status_code == 303


def test_login_without_or_with_a_wrong_csrf_token_is_refused(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    client.get("/login")
    assert client.post("/login", data={"username": "alice", "password": PASSWORD}).status_code == 403
    bad = {"username": "alice", "password": PASSWORD, "csrf_token": "forged"}
    assert client.post("/login", data=bad).status_code == 403
    assert client.get("/api/campaigns").status_code == 401


def test_a_login_token_works_only_with_the_cookie_it_came_with(web_engine: sa.Engine) -> None:
    attacker, victim = client_for(web_engine), client_for(web_engine)
    token = csrf_of(attacker)  # a real token, from the attacker's own visit to the login page
    victim.get("/login")
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert victim.post("/login", data=form).status_code == 403
    assert attacker.post("/login", data=form).status_code == 303


def test_an_advertiser_sees_only_their_campaigns_and_gets_404_for_others(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "alice") == 303
    assert client.get("/api/campaigns").json() == [{"advertiser": "acme", "campaign": "summer-cola"}]
    doc = client.get("/api/campaigns/summer-cola").json()
    assert (doc["total"]["plays"], doc["total"]["viewers"], doc["total"]["ots"]) == (6, 12, 18)
    assert doc["total"]["cpm_viewers"] == pytest.approx(6 * 0.4 / 12 * 1000)
    assert client.get("/api/campaigns/run-fast").status_code == 404
    assert client.get("/campaigns/run-fast").status_code == 404
    assert client.get("/campaigns/run-fast/export.csv").status_code == 404
    assert client.get("/campaigns/no-such").status_code == 404
    assert client.get("/admin/screens").status_code == 404
    page = client.get("/campaigns/summer-cola")
    assert page.status_code == 200 and page.text.count("data:image/png;base64,") == 5
    assert "run-fast" not in client.get("/").text
    csv_text = client.get("/campaigns/summer-cola/export.csv").text
    assert csv_text.splitlines()[1].startswith("total,,,,,6,6,18,12,")


def test_the_admin_sees_every_campaign_and_the_screens(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "admin") == 303
    assert len(client.get("/api/campaigns").json()) == 2
    assert client.get("/api/campaigns/run-fast").json()["total"]["plays"] == 4
    screens = client.get("/admin/screens").text
    assert "s1" in screens and "cola" in screens and "online" in screens
    assert "unknown key" in screens  # invalid rules are shown with their reason
    overview = client.get("/").text
    assert "from 2026-04-05" in overview and "summer-cola" in overview  # the last 30 days by default
    assert "run-fast" not in client.get("/?from=2026-06-01").text
    assert client.get("/?from=May-1").status_code == 400


def test_logout_needs_csrf_and_ends_the_session(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "alice") == 303
    assert client.post("/logout", data={}).status_code == 403
    token = csrf_of(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/campaigns").status_code == 401


def test_cookies_are_httponly_samesite_host_prefixed_and_secure_behind_https(web_engine: sa.Engine) -> None:
    client = client_for(web_engine, https_only=True)
    client.base_url = client.base_url.copy_with(scheme="https")
    login_cookie = client.get("https://testserver/login").headers["set-cookie"]
    assert login_cookie.startswith("__Host-signage_login=")
    token = csrf_of(client)
    r = client.post(
        "https://testserver/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303
    session_cookie = next(
        c for c in r.headers.get_list("set-cookie") if c.startswith("__Host-signage_session=")
    )
    for cookie in (login_cookie.lower(), session_cookie.lower()):
        assert (
            "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie and "path=/" in cookie
        )
