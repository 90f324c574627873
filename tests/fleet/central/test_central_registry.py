"""The registry: stores and hours, screens and tokens, groups and who is in them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from signage.fleet.central import tables as t
from signage.fleet.central.hours import HoursError, describe_hours, parse_hours
from signage.fleet.central.registry import (
    RegistryError,
    add_group,
    add_screen,
    add_store,
    get_store,
    groups_of,
    hash_token,
    list_groups,
    list_screens,
    parse_tags,
    remove_screen,
    rotate_token,
    screen_for_token,
    set_hours,
)
from signage.fleet.protocol import OpeningSpan, StoreHours

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_week_days_and_spans_parse_to_store_hours() -> None:
    hours = parse_hours(
        "Europe/Paris",
        ["mon-fri 08:00-20:00", "sat 09:00-12:00,13:00-18:00", "fri 22:00-02:00"],
        closed=["2026-12-25"],
        special=["2026-12-24 09:00-14:00"],
    )
    assert hours.weekly[0] == (OpeningSpan(time(8), time(20)),)
    assert hours.weekly[4] == (OpeningSpan(time(8), time(20)), OpeningSpan(time(22), time(2)))
    assert hours.weekly[5] == (OpeningSpan(time(9), time(12)), OpeningSpan(time(13), time(18)))
    assert hours.weekly[6] == ()
    assert hours.exceptions == (
        (date(2026, 12, 24), (OpeningSpan(time(9), time(14)),)),
        (date(2026, 12, 25), ()),
    )
    assert StoreHours.from_json(hours.to_json()) == hours
    assert describe_hours(hours).startswith("mon-thu 08:00-20:00; fri 08:00-20:00,22:00-02:00")


def test_a_range_of_days_may_wrap_and_midnight_is_24_00() -> None:
    hours = parse_hours("UTC", ["fri-mon 10:00-24:00"])
    assert [bool(day) for day in hours.weekly] == [True, False, False, False, True, True, True]
    assert hours.weekly[0] == (OpeningSpan(time(10), time(0)),)


@pytest.mark.parametrize(
    ("week", "closed", "message"),
    [
        (["mon-fri"], [], "names no hours"),
        (["moon 08:00-20:00"], [], "'moon' in 'moon 08:00-20:00' is not a day"),
        (["mon 8-20"], [], "is not a time of day"),
        (["mon 25:00-26:00"], [], "is not a time of day"),
        (["mon 08:00-12:00,11:00-14:00"], [], "overlap"),
        (["mon 08:00-12:00", "mon 11:00-13:00"], [], "overlap"),
        (["mon 08:00-20:00"], ["2026-02-30"], "'2026-02-30' in '2026-02-30' is not a date"),
    ],
)
def test_hours_that_cannot_be_read_say_what_was_written(
    week: list[str], closed: list[str], message: str
) -> None:
    with pytest.raises(HoursError, match=message):
        parse_hours("UTC", week, closed)


def test_tags_are_key_value_names() -> None:
    assert parse_tags(["region=north", "floor=2"]) == {"region": "north", "floor": "2"}
    with pytest.raises(RegistryError, match="not KEY=VALUE"):
        parse_tags(["north"])
    with pytest.raises(RegistryError, match="not a valid value of tag 'region'"):
        parse_tags(["region=far north"])


@pytest.mark.postgres
def test_stores_and_screens_keep_only_a_hash_of_the_token(central: Engine) -> None:
    with central.begin() as conn:
        add_store(conn, "paris-1", "Paris Rivoli", "Europe/Paris", NOW)
        token = add_screen(conn, "scr-1", "paris-1", NOW, tags={"region": "north"})
        with pytest.raises(RegistryError, match="already exists"):
            add_screen(conn, "scr-1", "paris-1", NOW)
        with pytest.raises(RegistryError, match="no store 'lyon'"):
            add_screen(conn, "scr-2", "lyon", NOW)
        with pytest.raises(RegistryError, match="unknown time zone"):
            add_store(conn, "x", "X", "Mars/Olympus", NOW)
        stored = conn.execute(sa.select(t.screen.c.token_sha256)).scalar_one()
    assert len(token) >= 43 and stored == hash_token(token) and token not in stored
    with central.connect() as conn:
        screen = screen_for_token(conn, token)
        assert screen is not None and screen.timezone == "Europe/Paris" and screen.tags == {"region": "north"}
        assert screen_for_token(conn, token + "x") is None


@pytest.mark.postgres
def test_hours_are_stored_in_the_protocol_form(central: Engine) -> None:
    hours = parse_hours("Europe/Paris", ["mon-sat 09:00-19:00"], closed=["2026-12-25"])
    with central.begin() as conn:
        add_store(conn, "paris-1", "", "Europe/Paris", NOW)
        set_hours(conn, "paris-1", hours)
        raw = conn.execute(sa.select(t.store.c.hours)).scalar_one()
        store = get_store(conn, "paris-1")
    assert raw == hours.to_json()
    assert store is not None and store.hours == hours and store.name == "paris-1"
    with central.begin() as conn:
        set_hours(conn, "paris-1", None)
        store = get_store(conn, "paris-1")
    assert store is not None and store.hours is None


@pytest.mark.postgres
def test_rotating_or_removing_revokes_the_old_token(central: Engine) -> None:
    with central.begin() as conn:
        add_store(conn, "s", "S", "UTC", NOW)
        first = add_screen(conn, "scr-1", "s", NOW)
        second = rotate_token(conn, "scr-1")
    with central.connect() as conn:
        assert screen_for_token(conn, first) is None
        assert screen_for_token(conn, second) is not None
    with central.begin() as conn:
        remove_screen(conn, "scr-1", NOW)
        assert screen_for_token(conn, second) is None
        assert list_screens(conn) == []
        assert [s.screen_id for s in list_screens(conn, include_removed=True)] == ["scr-1"]
        with pytest.raises(RegistryError, match="no screen 'scr-1'"):
            rotate_token(conn, "scr-1")
        again = add_screen(conn, "scr-1", "s", NOW)  # brought back, with a new token
        assert screen_for_token(conn, again) is not None


@pytest.mark.postgres
def test_groups_resolve_by_every_tag_and_by_list(central: Engine) -> None:
    with central.begin() as conn:
        add_store(conn, "s", "S", "UTC", NOW)
        add_screen(conn, "n-1", "s", NOW, tags={"region": "north", "kind": "window"})
        add_screen(conn, "n-2", "s", NOW, tags={"region": "north", "kind": "aisle"})
        add_screen(conn, "s-1", "s", NOW, tags={"region": "south", "kind": "window"})
        add_group(conn, "north", NOW, selector={"region": "north"})
        add_group(conn, "north-windows", NOW, selector={"region": "north", "kind": "window"})
        add_group(conn, "pilot", NOW, members=["s-1"])
        add_group(conn, "north-plus", NOW, selector={"region": "north"}, members=["s-1"])
        add_group(conn, "all", NOW, selector={})
        with pytest.raises(RegistryError, match="would hold no screen"):
            add_group(conn, "empty", NOW)
        with pytest.raises(RegistryError, match="no screen 'ghost'"):
            add_group(conn, "ghosts", NOW, members=["ghost"])
        with pytest.raises(RegistryError, match="already exists"):
            add_group(conn, "pilot", NOW, members=["n-1"])
    with central.connect() as conn:
        members = {g.name: g.members for g in list_groups(conn)}
        s1 = next(s for s in list_screens(conn) if s.screen_id == "s-1")
        n1 = next(s for s in list_screens(conn) if s.screen_id == "n-1")
        assert groups_of(conn, s1) == ("all", "north-plus", "pilot")
        assert groups_of(conn, n1) == ("all", "north", "north-plus", "north-windows")
    assert members == {
        "all": ("n-1", "n-2", "s-1"),
        "north": ("n-1", "n-2"),
        "north-plus": ("n-1", "n-2", "s-1"),
        "north-windows": ("n-1",),
        "pilot": ("s-1",),
    }
    with central.begin() as conn:
        remove_screen(conn, "s-1", NOW)
        assert {g.name: g.members for g in list_groups(conn)}["pilot"] == ()
        removed = next(s for s in list_screens(conn, include_removed=True) if s.screen_id == "s-1")
        assert groups_of(conn, removed) == ()
