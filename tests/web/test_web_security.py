"""Login, roles, scoping in queries, CSRF, rate limit and cookie flags, through the real app."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_data import NOW, PASSWORD, web_config

from signage.web.app import create_app
from signage.web.security import LoginLimiter
from signage.web.users import hash_password, verify_password


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def client_for(engine: sa.Engine, clock: Clock | None = None, **kw: object) -> TestClient:
    app = create_app(engine, web_config(**kw), clock=clock or Clock(), now=lambda: NOW)
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def log_in(client: TestClient, user: str, password: str = PASSWORD) -> int:
    token = csrf_of(client)
    r = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    return r.status_code


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


def test_login_rate_limit_blocks_even_the_right_password_until_the_window_passes(
    web_engine: sa.Engine,
) -> None:
    clock = Clock()
    client = client_for(web_engine, clock, login_attempts=3, login_window_s=60.0)
    for _ in range(3):
        assert log_in(client, "bob", "wrong password") == 401
    assert log_in(client, "bob") == 429
    clock.t += 61
    assert log_in(client, "bob") == 303


def test_logout_needs_csrf_and_ends_the_session(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "alice") == 303
    assert client.post("/logout", data={}).status_code == 403
    token = csrf_of(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/api/campaigns").status_code == 401


def test_session_cookie_is_httponly_samesite_and_secure_behind_https(web_engine: sa.Engine) -> None:
    client = client_for(web_engine, https_only=True)
    client.base_url = client.base_url.copy_with(scheme="https")
    r = client.get("https://testserver/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_password_hashes_are_salted_and_verified() -> None:
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("s3cret-pass", a) and not verify_password("other-pass", a)
    assert not verify_password("x", "garbage")


def test_limiter_counts_per_key_within_the_window() -> None:
    limiter = LoginLimiter(attempts=2, window_s=10)
    keys = ("ip:1", "user:a")
    limiter.failed(keys, 0.0)
    assert not limiter.blocked(keys, 1.0)
    limiter.failed(keys, 1.0)
    assert limiter.blocked(("user:a",), 2.0)
    assert limiter.retry_after_s(keys, 2.0) == pytest.approx(8.0)
    assert not limiter.blocked(keys, 10.5)
