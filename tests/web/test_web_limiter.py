"""The login limiter: counted before hashing, per user name and per address, bounded, logged, proxy-aware."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from web_data import PASSWORD, client_for, csrf_of, log_in

from signage.clock import FakeClock
from signage.settings import WebSettings
from signage.web.security import Attempt, HashGate, LoginLimiter, Refused, address_key
from signage.web.server import uvicorn_options


def test_parallel_wrong_passwords_are_checked_no_more_often_than_the_limit(web_engine: sa.Engine) -> None:
    attempts, parallel = 3, 16
    app = client_for(web_engine, login_attempts=attempts, concurrent_password_checks=parallel).app
    clients = [TestClient(app, base_url="http://testserver", follow_redirects=False) for _ in range(parallel)]
    tokens = [csrf_of(c) for c in clients]
    start = threading.Barrier(parallel)
    statuses: list[int] = []

    def guess(client: TestClient, token: str) -> None:
        start.wait()
        form = {"username": "bob", "password": "a wrong guess", "csrf_token": token}
        statuses.append(client.post("/login", data=form).status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(statuses) == {401: attempts, 429: parallel - attempts}


def test_the_rate_limit_blocks_even_the_right_password_until_the_window_passes(web_engine: sa.Engine) -> None:
    clock = FakeClock()
    client = client_for(web_engine, clock, login_attempts=3, login_window_s=60.0)
    for _ in range(3):
        assert log_in(client, "bob", "wrong password") == 401
    r = client.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert r.status_code == 429 and r.headers["retry-after"] == "61"
    clock.advance(61)
    assert log_in(client, "bob") == 303


def test_an_own_login_does_not_clear_the_address_failures_against_other_accounts(
    web_engine: sa.Engine,
) -> None:
    # Four failures against other accounts, then one's own login, again, from one address.
    client = client_for(web_engine, login_attempts=5, address_login_attempts=8)
    results = []
    for victim in ("admin", "alice"):
        results += [log_in(client, victim, f"guess {i}") for i in range(4)]
        results.append(log_in(client, "bob"))
    assert results == [401] * 4 + [303] + [401] * 4 + [429]  # eight failures lock the address


def test_user_and_address_limits_are_separate(web_engine: sa.Engine) -> None:
    clock = FakeClock()
    app = client_for(web_engine, clock, login_attempts=2, address_login_attempts=3).app

    def browser(ip: str) -> TestClient:
        return TestClient(app, base_url="http://testserver", follow_redirects=False, client=(ip, 40000))

    # Two failures for bob from two addresses lock bob, from anywhere...
    assert log_in(browser("192.0.2.1"), "bob", "nope") == 401
    assert log_in(browser("192.0.2.2"), "bob", "nope") == 401
    assert log_in(browser("192.0.2.3"), "bob") == 429
    # ...but not alice, even from those addresses.
    assert log_in(browser("192.0.2.1"), "alice") == 303
    # Three failures from one address against three names lock the address, not the names.
    sprayer = browser("198.51.100.7")
    assert [log_in(sprayer, name, "nope") for name in ("x1", "x2", "x3")] == [401, 401, 401]
    assert log_in(sprayer, "alice") == 429
    assert log_in(browser("198.51.100.8"), "alice") == 303


def test_a_busy_password_gate_answers_at_once_and_counts_nothing(web_engine: sa.Engine) -> None:
    client = client_for(web_engine, login_attempts=1, concurrent_password_checks=1)
    gate: HashGate = client.app.state.auth.gate
    assert gate.enter()  # another login is being checked
    try:
        r = client.post("/login", data={"username": "bob", "password": "x", "csrf_token": csrf_of(client)})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
    finally:
        gate.leave()
    assert log_in(client, "bob") == 303  # the refused attempt did not use up bob's single attempt


def test_failed_logins_and_lockouts_are_logged_once_without_the_password(
    web_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(web_engine, login_attempts=2)
    with caplog.at_level(logging.INFO, logger="signage.web"):
        for _ in range(4):
            log_in(client, "bob", "hunter2-secret-guess")
    failed = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    locked = [r.getMessage() for r in caplog.records if "locked" in r.getMessage()]
    assert failed == ["failed login for user 'bob' from testclient"] * 2
    assert locked == ["logins for user 'bob' locked for 300 s (2 attempts within 300 s)"]
    assert "hunter2" not in caplog.text


def test_limiter_counts_before_the_check_and_refunds_on_success() -> None:
    limiter = LoginLimiter(attempts=2, window_s=10, address_attempts=3)
    first = limiter.reserve("Bob", "192.0.2.1", 0.0)
    second = limiter.reserve("bob ", "192.0.2.1", 0.5)  # user names compare case- and space-blind
    assert isinstance(first, Attempt) and isinstance(second, Attempt)
    third = limiter.reserve("bob", "192.0.2.9", 1.0)  # two unsettled attempts already count
    assert isinstance(third, Refused) and third.retry_after_s == pytest.approx(9.0)
    limiter.settle(first, succeeded=False, now=1.0)
    limiter.settle(second, succeeded=True, now=1.0)  # bob's own login clears bob's failures...
    assert isinstance(limiter.reserve("bob", "192.0.2.9", 1.5), Attempt)
    # ...not the address's: its failure at 0.0 still counts, so two more names reach its limit of 3.
    assert isinstance(limiter.reserve("carol", "192.0.2.1", 2.0), Attempt)
    assert isinstance(limiter.reserve("dave", "192.0.2.1", 2.0), Attempt)
    assert isinstance(limiter.reserve("erin", "192.0.2.1", 2.0), Refused)
    assert isinstance(limiter.reserve("erin", "192.0.2.1", 12.5), Attempt)  # the window passed


def test_limiter_memory_is_bounded() -> None:
    limiter = LoginLimiter(attempts=3, window_s=10, max_keys=100)
    for i in range(1000):
        reserved = limiter.reserve(f"user{i}", f"10.0.{i // 250}.{i % 250}", float(i) / 100)
        assert isinstance(reserved, Attempt)
        limiter.settle(reserved, succeeded=False, now=float(i) / 100)
    assert limiter.tracked_keys() <= 100
    limiter.reserve("late", "10.9.9.9", 100.0)  # a window later every old key has expired
    assert limiter.tracked_keys() == 2


def test_ipv6_clients_count_by_their_64() -> None:
    assert (
        address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "addr:2001:db8:1:2::/64"
    )
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "addr:192.0.2.1"


def test_hash_gate_never_waits() -> None:
    gate = HashGate(2)
    assert gate.enter() and gate.enter() and not gate.enter()
    gate.leave()
    assert gate.enter()


def _proxied(web_engine: sa.Engine, web: WebSettings, peer: str) -> TestClient:
    """The app wrapped the way `signage serve` has uvicorn wrap it, reached from ``peer``."""
    app = client_for(web_engine).app
    config = uvicorn.Config(app, log_config=None, **uvicorn_options(web))
    config.load()
    return TestClient(
        config.loaded_app, base_url="http://testserver", follow_redirects=False, client=(peer, 1)
    )


def _logged_client(caplog: pytest.LogCaptureFixture, client: TestClient, forwarded_for: str) -> str:
    caplog.clear()
    token = csrf_of(client)
    form = {"username": "nobody", "password": "x", "csrf_token": token}
    with caplog.at_level(logging.WARNING, logger="signage.web.auth"):
        assert client.post("/login", data=form, headers={"X-Forwarded-For": forwarded_for}).status_code == 401
    (message,) = [r.getMessage() for r in caplog.records if "failed login" in r.getMessage()]
    return message.rsplit(" from ", 1)[1]


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(
    web_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    default = WebSettings()
    assert _logged_client(caplog, _proxied(web_engine, default, "127.0.0.1"), "203.0.113.5") == "127.0.0.1"
    behind = WebSettings.model_validate({"trusted_proxies": ["10.0.0.0/8"]})
    assert _logged_client(caplog, _proxied(web_engine, behind, "10.1.2.3"), "203.0.113.5") == "203.0.113.5"
    assert _logged_client(caplog, _proxied(web_engine, behind, "127.0.0.1"), "203.0.113.5") == "127.0.0.1"
