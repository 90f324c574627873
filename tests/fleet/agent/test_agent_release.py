"""The agent against a fake server: releases arrive whole or not at all, and the last good one stays."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from agent_helpers import (
    BROKEN_RULE,
    CREATED,
    SCREEN,
    catalog_yaml,
    make_agent,
    png,
    publish,
    release_files,
    rule_yaml,
    sha,
)

from signage.clock import FakeClock
from signage.fleet.agent.agent import VERIFY_ATTEMPTS, backoff_s
from signage.fleet.agent.fake import FakeFleetClient
from signage.fleet.agent.store import RELEASE_JSON
from signage.fleet.protocol import Alert, ReleaseFile, ScreenState


def test_a_release_is_assembled_from_hard_links_and_becomes_current(tmp_path: Path) -> None:
    client = FakeFleetClient()
    files = release_files("spring", "summer")
    publish(client, 1, files)
    agent, store = make_agent(tmp_path, client)
    assert store.current_release_id() is None
    assert agent.poll_once()
    assert store.current_release_id() == "north#1"
    current = store.current_slot()
    assert current is not None and current.name in ("a", "b")
    assert os.path.islink(store.current_dir)
    for path, data in files.items():
        placed = store.current_dir / path
        assert placed.read_bytes() == data
        assert placed.stat().st_ino == store.blob_path(sha(data)).stat().st_ino  # a link, not a copy
    assert (store.current_dir / RELEASE_JSON).is_file()
    assert store.current_rule_files() == [store.current_dir / "rules" / "store.yaml"]
    # Unchanged state: a 304, nothing rebuilt.
    assert agent.poll_once()
    assert client.not_modified == 1 and agent.counters.releases_applied == 1


def test_a_download_cut_mid_file_resumes_from_the_part(tmp_path: Path) -> None:
    client = FakeFleetClient()
    files = release_files("spring")
    media = files["media/spring.png"]
    publish(client, 1, files)
    client.cut_at[sha(media)] = 20
    agent, store = make_agent(tmp_path, client)
    assert not agent.poll_once()
    assert store.current_release_id() is None
    assert store.part_path(sha(media)).stat().st_size == 20
    assert agent.poll_once()  # the state is unchanged (304): the download goes on from the part
    assert client.not_modified == 1
    assert [offset for digest, offset in client.downloads if digest == sha(media)] == [0, 20]
    assert (store.current_dir / "media/spring.png").read_bytes() == media
    assert not store.part_path(sha(media)).exists()


def test_a_corrupted_blob_is_deleted_and_fetched_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeFleetClient()
    files = release_files("spring")
    digest = sha(files["media/spring.png"])
    publish(client, 1, files)
    client.corrupt[digest] = 1
    agent, store = make_agent(tmp_path, client)
    with caplog.at_level(logging.WARNING):
        assert agent.poll_once()
    assert agent.counters.corrupt_blobs == 1
    assert [offset for d, offset in client.downloads if d == digest] == [0, 0]  # whole, twice
    assert store.blob_path(digest).read_bytes() == files["media/spring.png"]
    assert [r.message for r in caplog.records if "sha256" in r.message] == [
        f"fleet blob {digest[:12]} (media/spring.png) failed its sha256 check (1 so far); deleted, fetching it again"
    ]


def test_a_blob_that_never_verifies_leaves_the_release_out_until_it_does(tmp_path: Path) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    files = release_files("autumn", shade=90)
    digest = sha(files["media/autumn.png"])
    publish(client, 2, files)
    client.corrupt[digest] = VERIFY_ATTEMPTS
    assert not agent.poll_once()
    assert store.current_release_id() == "north#1"
    assert not store.has_blob(digest) and not store.part_path(digest).exists()
    assert agent.poll_once()
    assert store.current_release_id() == "north#2"
    assert agent.counters.corrupt_blobs == VERIFY_ATTEMPTS


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ({"rules/store.yaml": BROKEN_RULE}, "rules/store.yaml:4:"),
        ({"catalog.yaml": b"ads:\n  - id: Not An Id\n"}, "catalog.yaml:2:"),
        ({"rules/extra.yaml": rule_yaml("spring", rule_id="everyone")}, "rules/store.yaml"),  # id used twice
    ],
)
def test_a_release_the_player_would_refuse_never_becomes_current(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: dict[str, bytes], where: str
) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    good_slot = store.current_slot()
    publish(client, 2, {**release_files("spring"), **broken})
    with caplog.at_level(logging.ERROR):
        assert agent.poll_once()
        agent.poll_once()  # the same refused release: not fetched, checked or logged again
    assert store.current_release_id() == "north#1"
    assert store.current_slot() == good_slot
    assert not store.inactive_slot().exists()  # the refused slot is discarded
    refusals = [r.message for r in caplog.records if "refused" in r.message]
    assert len(refusals) == 1 and agent.counters.releases_refused == 1
    assert refusals[0].startswith("fleet release north#2 refused, release north#1 stays in force: ")
    assert where in refusals[0] and str(tmp_path) not in refusals[0]
    # A new, good release is applied after a refused one.
    publish(client, 3, release_files("summer"))
    assert agent.poll_once()
    assert store.current_release_id() == "north#3"


def test_a_catalog_with_no_playable_ad_is_refused(tmp_path: Path) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    files = release_files("spring")
    files["media/spring.png"] = b"not a picture at all"
    publish(client, 2, files)
    assert agent.poll_once()
    assert store.current_release_id() == "north#1" and agent.counters.releases_refused == 1


def test_offline_keeps_the_current_release_and_logs_transitions_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeFleetClient()
    files = release_files("spring")
    publish(client, 1, files)
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    client.away = True
    with caplog.at_level(logging.INFO):
        for _ in range(4):
            assert not agent.poll_once()
        assert agent.online is False
        assert store.current_release_id() == "north#1"
        for path, data in files.items():
            assert (store.current_dir / path).read_bytes() == data
        client.away = False
        assert agent.poll_once()
    messages = [r.message for r in caplog.records]
    assert len([m for m in messages if "away" in m]) == 1
    assert "release north#1 plays meanwhile" in next(m for m in messages if "away" in m)
    assert [m for m in messages if m.startswith("fleet server back")] == [
        "fleet server back after 4 failed poll(s)"
    ]


def test_a_refused_token_is_said_once_and_nothing_is_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    client.refuse_token = True
    with caplog.at_level(logging.ERROR):
        assert not agent.poll_once()
        assert not agent.poll_once()
    assert len([r for r in caplog.records if "refused this screen's token" in r.message]) == 1
    assert store.current_release_id() == "north#1"


def test_the_next_release_is_built_beside_the_current_one_and_swapped_in_one_rename(tmp_path: Path) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    first = store.current_slot()
    seen: list[tuple[str | None, Path, bool]] = []
    check = agent._validate

    def watching(slot: Path) -> str | None:
        # While release 2 is checked, release 1 is still current, whole, in the other slot.
        seen.append((store.current_release_id(), slot, (store.current_dir / "media/spring.png").is_file()))
        return check(slot)

    agent._validate = watching
    publish(client, 2, release_files("summer"))
    link_before = os.lstat(store.current_dir).st_ino
    assert agent.poll_once()
    assert seen == [("north#1", store.current_slot(), True)]
    assert store.current_slot() != first and store.current_release_id() == "north#2"
    assert os.lstat(store.current_dir).st_ino != link_before  # a new link renamed over the old
    assert not list(store.root.glob(".current-*"))
    # The release before stays whole in the inactive slot until the next one replaces it.
    assert store.inactive_slot() == first
    assert (first / "media/spring.png").is_file()


def test_backoff_doubles_from_five_seconds_up_to_five_intervals() -> None:
    assert [backoff_s(n, 60.0) for n in range(8)] == [60.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0]
    assert backoff_s(30, 60.0) == 300.0


def test_each_media_blob_is_downloaded_once_for_every_release_that_uses_it(tmp_path: Path) -> None:
    client = FakeFleetClient()
    shared = png(200)
    publish(client, 1, {"catalog.yaml": catalog_yaml("spring"), "media/spring.png": shared})
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    publish(
        client,
        2,
        {
            "catalog.yaml": catalog_yaml("spring"),
            "media/spring.png": shared,
            "rules/a.yaml": rule_yaml("spring"),
        },
    )
    assert agent.poll_once()
    assert [d for d, _ in client.downloads].count(sha(shared)) == 1
    assert store.current_release_id() == "north#2"


def test_a_wake_up_pauses_a_download_and_polls_again_before_the_rest(tmp_path: Path) -> None:
    client = FakeFleetClient(chunk_bytes=1000)
    files = release_files("spring")
    files["media/trailer.mp4"] = bytes(range(256)) * 40  # 10 kB the catalog does not name
    release = publish(client, 1, files)
    trailer = sha(files["media/trailer.mp4"])
    agent, store = make_agent(tmp_path, client)

    def alert_arrives() -> None:
        if client.downloads[-1] == (trailer, 0):
            agent.wake()  # an MQTT command while the trailer is coming in (its first chunk)

    client.on_chunk = alert_arrives
    assert not agent.poll_once()
    assert store.part_path(trailer).stat().st_size == 1000 and store.current_release_id() is None
    assert agent.counters.failed_polls == 0  # not a failure: a poll that gave way to the next
    assert agent.poll_once()
    assert store.current_release_id() == "north#1"
    assert [offset for digest, offset in client.downloads if digest == trailer] == [0, 1000]
    assert len(client.downloads) == len(release.files) + 1  # each blob once, the trailer in two parts
    assert store.blob_path(trailer).read_bytes() == files["media/trailer.mp4"]


def test_a_catalog_that_names_a_file_outside_the_release_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(png(5))
    client = FakeFleetClient()
    catalog = f"ads:\n  - id: sneaky\n    media: {outside}\n    advertiser: A\n    campaign: c\n".encode()
    publish(client, 1, {"catalog.yaml": catalog})
    agent, store = make_agent(tmp_path, client)
    with caplog.at_level(logging.ERROR):
        assert agent.poll_once()
    assert store.current_release_id() is None
    assert caplog.messages == [
        f"fleet release north#1 refused, the standby slide stays: catalog.yaml names {outside}, "
        "a file outside the release"
    ]


def test_alert_media_the_server_lacks_never_holds_the_release_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeFleetClient()
    release = publish(client, 1, release_files("spring"))
    missing = ReleaseFile("media/fire.png", "0" * 64, 10)
    alert = Alert("a-1", "north", "Fire drill", CREATED, media=missing)
    client.state = ScreenState(SCREEN, release, (alert,))
    agent, store = make_agent(tmp_path, client, clock=FakeClock(start_utc=CREATED))
    agent.screen_id = "screen-8"  # as the settings name it: not as the server does
    with caplog.at_level(logging.WARNING):
        assert agent.poll_once()
        assert agent.poll_once()
    assert store.current_release_id() == "north#1"
    assert store.active_alerts(CREATED) == (alert,) and store.alert_media(alert) is None
    assert [m.split(":")[0] for m in caplog.messages] == [
        "the fleet server knows this screen as 'screen-7' but its settings say 'screen-8'",
        "fleet alert a-1 shows without its media for now",
    ]


def test_a_release_whose_paths_clash_is_refused_and_its_slot_left_empty(tmp_path: Path) -> None:
    client = FakeFleetClient()
    files = release_files("spring")
    files["media/clips"] = b"a file where a folder must be"
    files["media/clips/one.mp4"] = b"a clip"
    publish(client, 1, files)
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    assert store.current_release_id() is None and agent.counters.releases_refused == 1
    assert not store.inactive_slot().exists()


def test_a_screen_offline_during_a_publish_catches_up_when_the_server_answers_again(tmp_path: Path) -> None:
    client = FakeFleetClient()
    publish(client, 1, release_files("spring"))
    agent, store = make_agent(tmp_path, client)
    assert agent.poll_once()
    client.away = True
    summer = release_files("summer", shade=40)
    publish(client, 2, summer)  # published while the screen cannot reach the server
    assert not agent.poll_once()
    assert store.current_release_id() == "north#1"  # the last good release plays meanwhile
    client.away = False
    assert agent.poll_once()
    assert store.current_release_id() == "north#2"
    for path, data in summer.items():
        assert (store.current_dir / path).read_bytes() == data
