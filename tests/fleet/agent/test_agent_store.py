"""The release store on disk: garbage within the budget, alerts and hours that survive a restart,
a ``current`` that always names a whole release, and the player's reloaders following it."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from agent_helpers import SCREEN, make_agent, png, publish, release_files, sha

from signage.clock import FakeClock
from signage.fleet.agent.fake import FakeFleetClient
from signage.fleet.agent.store import RELEASE_JSON, ReleaseStore
from signage.fleet.agent.wiring import release_reloaders
from signage.fleet.protocol import Alert, OpeningSpan, ReleaseFile, ScreenState, StoreHours
from signage.settings import FleetSettings, Settings

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_garbage_collection_keeps_both_slots_and_deletes_the_oldest_first(tmp_path: Path) -> None:
    client = FakeFleetClient()
    releases = [release_files(f"ad{n}", shade=20 * n) for n in range(1, 5)]
    agent, store = make_agent(tmp_path, client, budget_bytes=1)  # far below what two releases need
    for number, files in enumerate(releases, start=1):
        publish(client, number, files)
        assert agent.poll_once()
    # Releases 3 (inactive slot) and 4 (current) are whole; nothing of 1 and 2 is left.
    kept = {p.name for p in store.blobs.iterdir()}
    assert kept == {sha(d) for files in releases[2:] for d in files.values()}
    assert store.referenced() == kept
    for path, data in releases[3].items():
        assert (store.current_dir / path).read_bytes() == data


def test_garbage_collection_stops_at_the_budget_oldest_mtime_first(tmp_path: Path) -> None:
    store = ReleaseStore(tmp_path / "fleet")
    store.blobs.mkdir(parents=True)
    old, mid, new = (png(shade, size=32) for shade in (1, 2, 3))
    for age, data in ((300, old), (200, mid), (100, new)):
        path = store.blob_path(sha(data))
        path.write_bytes(data)
        stamp = NOW.timestamp() - age
        os.utime(path, (stamp, stamp))
    budget = len(mid) + len(new)
    freed = store.collect_garbage(budget)
    assert freed == len(old)
    assert sorted(p.name for p in store.blobs.iterdir()) == sorted([sha(mid), sha(new)])
    # What an alert still needs is kept whatever its age.
    assert store.collect_garbage(0, keep={sha(mid)}) == len(new)
    assert [p.name for p in store.blobs.iterdir()] == [sha(mid)]


def test_alerts_and_hours_survive_a_new_store(tmp_path: Path) -> None:
    client = FakeFleetClient()
    media = png(77)
    digest = client.add_blob(media)
    active = Alert(
        "a-1",
        "north",
        "Fire drill: please leave by the nearest exit",
        NOW - timedelta(minutes=5),
        media=ReleaseFile("media/fire.png", digest, len(media)),
    )
    later = Alert(
        "a-2", "north", "Store closes at six", NOW - timedelta(minutes=1), until_utc=NOW + timedelta(hours=1)
    )
    expired = Alert("a-0", "north", "Old news", NOW - timedelta(days=1), until_utc=NOW - timedelta(hours=1))
    cleared = Alert("a-3", "north", "Cleared", NOW - timedelta(hours=2), cleared=True)
    spans = (OpeningSpan(time(8), time(20)),)
    hours = StoreHours("Europe/Paris", (spans,) * 6 + ((),), ((NOW.date(), ()),))
    client.state = ScreenState(SCREEN, None, (active, later, expired, cleared), hours)
    clock = FakeClock(start_utc=NOW)
    agent, store = make_agent(tmp_path, client, clock=clock)
    assert agent.poll_once()
    assert store.alert_media(active) == store.blob_path(digest)  # fetched with the alert
    reopened = ReleaseStore(tmp_path / "fleet")
    assert reopened.active_alerts(NOW) == (active, later)  # oldest first
    assert reopened.active_alerts(NOW + timedelta(hours=2)) == (active,)
    assert reopened.hours() == hours
    assert reopened.alert_media(active) == reopened.blob_path(digest)
    assert [a["alert_id"] for a in json.loads((tmp_path / "fleet" / "alerts.json").read_text())] == [
        "a-1",
        "a-2",
        "a-0",
        "a-3",
    ]  # the server's list, as it sent it
    assert json.loads((tmp_path / "fleet" / "hours.json").read_text()) == hours.to_json()
    # The server clears everything: the files say so too, for the next start.
    client.state = ScreenState(SCREEN, None, (), None)
    assert agent.poll_once()
    assert ReleaseStore(tmp_path / "fleet").active_alerts(NOW) == ()
    assert reopened.active_alerts(NOW) == () and reopened.hours() is None


def test_an_unreadable_alerts_file_means_no_alerts_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ReleaseStore(tmp_path / "fleet")
    store.root.mkdir(parents=True)
    (store.root / "alerts.json").write_text('[{"alert_id": 3}]')
    (store.root / "hours.json").write_text("not json")
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            assert store.active_alerts(NOW) == ()
            assert store.hours() is None
    assert len(caplog.records) == 2
    assert "alerts.json" in caplog.records[0].message and "hours.json" in caplog.records[1].message


def test_current_always_names_a_whole_release_while_releases_follow_each_other(tmp_path: Path) -> None:
    client = FakeFleetClient()
    agent, store = make_agent(tmp_path, client)
    publish(client, 1, release_files("ad0"))
    assert agent.poll_once()
    done = threading.Event()
    problems: list[str] = []
    looks = [0]

    def reader() -> None:
        while not done.is_set():
            with store.steady():
                release = store.current_release()
                if release is None:
                    problems.append("no release")
                    continue
                for item in release.files:
                    if not (store.current_dir / item.path).is_file():
                        problems.append(f"{release.release_id}: {item.path} missing")
            looks[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for number in range(2, 8):
            publish(client, number, release_files(f"ad{number}", shade=number * 9))
            assert agent.poll_once()
            assert store.current_release_id() == f"north#{number}"
    finally:
        done.set()
        thread.join()
    assert problems == [] and looks[0] > 0


def test_the_player_reloaders_follow_each_switch_within_one_check(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, fleet=FleetSettings(server_url="https://fleet.example.com"))
    client = FakeFleetClient()
    agent, store = make_agent(tmp_path, client)
    catalog, rules, checks = release_reloaders(settings, store, FakeClock())
    # Before any release: the standby slide, as with a missing local catalog.
    for check in checks:
        assert not check.check()
    assert catalog.current().ads == () and not catalog.status.valid
    assert "file not found" in catalog.status.error
    assert rules.status.error.endswith("no fleet release received yet")
    publish(client, 1, release_files("spring"))
    assert agent.poll_once()
    assert all(check.check() for check in checks)
    assert [ad.ad_id for ad in catalog.current().ads] == ["spring"]
    assert [r.rule_id for r in rules.current().rules] == ["everyone"]
    # Release 2 has the same catalog.yaml and rules, new media content: still picked up.
    same_catalog = release_files("spring", shade=150)
    publish(client, 2, same_catalog)
    assert agent.poll_once()
    assert [check.check() for check in checks] == [True, True]
    slot = store.current_slot()
    assert slot is not None
    media = catalog.current().ads[0].media
    assert media.is_relative_to(slot) and media.read_bytes() == same_catalog["media/spring.png"]
    # Nothing changed: no reload.
    assert [check.check() for check in checks] == [False, False]
    assert (slot / RELEASE_JSON).is_file()


def test_the_player_side_reader_reads_what_the_agent_writes(tmp_path: Path) -> None:
    directives = pytest.importorskip("signage.fleet.directives")
    client = FakeFleetClient()
    media = png(66)
    digest = client.add_blob(media)
    alert = Alert(
        "a-9", "north", "Closed for stock-taking", NOW, media=ReleaseFile("media/x.png", digest, len(media))
    )
    hours = StoreHours("UTC", ((OpeningSpan(time(9), time(18)),),) * 7)
    client.state = ScreenState(SCREEN, None, (alert,), hours)
    agent, store = make_agent(tmp_path, client, clock=FakeClock(start_utc=NOW))
    assert agent.poll_once()
    reader = directives.FileDirectives.under(tmp_path, FakeClock())
    assert reader.active_alerts(NOW) == store.active_alerts(NOW) == (alert,)
    assert reader.hours() == store.hours() == hours
    assert reader.alert_media(alert) == store.alert_media(alert) == store.blob_path(digest)
