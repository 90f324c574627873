"""Password policy, scrypt at OWASP cost with upgrade on login, and private database files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from web_data import NOW, PASSWORD, client_for, log_in

from signage.store.engine import make_engine
from signage.store.migrate import upgrade
from signage.web.passwords import (
    COST,
    ScryptCost,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from signage.web.users import WEB_USER, Role, UserError, add_user

OLD_COST = ScryptCost(n=2**14, r=8, p=1)  # what the dashboard used before


@pytest.mark.parametrize(
    ("password", "why"),
    [
        (" " * 8, "at least 12"),
        (" " * 16, "only spaces"),
        ("password", "at least 12"),
        ("Password1234", "most common"),
        ("correct horse battery staple", "most common"),
        ("QWERTYUIOPAS", "most common"),
        ("carol-the-admin", "the user name"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    problem = password_problem(password, "Carol-the-admin")
    assert problem is not None and why in problem


def test_a_long_unusual_password_is_accepted() -> None:
    assert password_problem(PASSWORD, "alice") is None
    assert password_problem("zebra lamp 7 orbit", "alice") is None


def test_add_user_applies_the_policy(fresh_engine: sa.Engine) -> None:
    with pytest.raises(UserError, match="at least 12 characters"):
        add_user(fresh_engine, "dan", "        ", Role.ADMIN, None, NOW)
    with pytest.raises(UserError, match="most common"):
        add_user(fresh_engine, "dan", "password1234", Role.ADMIN, None, NOW)


def test_hashes_are_salted_at_the_owasp_cost_and_carry_it() -> None:
    assert ScryptCost(n=2**17, r=8, p=1) == COST
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith(f"scrypt${2**17}$8$1$")
    assert verify_password("s3cret-pass", a) and not verify_password("other-pass", a)
    assert not needs_rehash(a) and needs_rehash(hash_password("s3cret-pass", cost=OLD_COST))
    assert not verify_password("x", "garbage")
    assert not verify_password("x", f"scrypt${2**30}$8$1$00$00")  # a tampered cost is refused, not run


def test_an_old_hash_is_upgraded_at_the_next_successful_login(fresh_engine: sa.Engine) -> None:
    with fresh_engine.begin() as conn:
        old = hash_password(PASSWORD, cost=OLD_COST)
        conn.execute(WEB_USER.update().where(WEB_USER.c.username == "bob").values(password_hash=old))
    client = client_for(fresh_engine)
    assert log_in(client, "bob", "wrong password") == 401

    def stored() -> str:
        with fresh_engine.connect() as conn:
            query = sa.select(WEB_USER.c.password_hash).where(WEB_USER.c.username == "bob")
            return str(conn.execute(query).scalar_one())

    assert stored() == old  # a wrong password changes nothing
    assert log_in(client, "bob") == 303
    new = stored()
    assert new.startswith(f"scrypt${2**17}$") and verify_password(PASSWORD, new)
    assert log_in(client_for(fresh_engine), "bob") == 303


def test_a_new_sqlite_database_is_private_to_its_owner(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'signage.db'}")
        upgrade(engine)
    finally:
        os.umask(old)
    with engine.connect():  # an open connection keeps the -wal and -shm files
        files = sorted(tmp_path.joinpath("data").iterdir())
    assert [p.name for p in files] == ["signage.db", "signage.db-shm", "signage.db-wal"]
    for path in files:  # the database and its -wal / -shm files
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
