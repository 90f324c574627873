"""The HTTP API a screen polls: scoped to its token's groups, ETags, Range resumes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from signage.clock import FakeClock
from signage.fleet.central.alerts import clear_alert, create_alert
from signage.fleet.central.blobstore import BlobStore
from signage.fleet.central.bundle import Validation, prepare_bundle
from signage.fleet.central.hours import parse_hours
from signage.fleet.central.registry import add_group, add_screen, add_store, remove_screen, set_hours
from signage.fleet.central.releases import insert_release, store_blobs
from signage.fleet.central.server import ByteRange, RangeNotSatisfiable, create_app, parse_range
from signage.fleet.protocol import API_PREFIX, Release, ScreenState
from tests.fleet.central.conftest import Content

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Fleet:
    client: TestClient
    clock: FakeClock
    token_a: str  # screen "a-1", group "north"
    token_b: str  # screen "b-1", group "south"
    release_a: Release
    release_b: Release

    def get(self, path: str, token: str | None, **headers: str) -> httpx2.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.get(API_PREFIX + path, headers=headers)


@pytest.fixture
def fleet(central: Engine, blobs: BlobStore, make_content: Callable[..., Content]) -> Iterator[Fleet]:
    clock = FakeClock(start_utc=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    now = clock.now_utc()
    with central.begin() as conn:
        add_store(conn, "paris", "Paris", "Europe/Paris", now)
        set_hours(conn, "paris", parse_hours("Europe/Paris", ["mon-sat 09:00-19:00"]))
        token_a = add_screen(conn, "a-1", "paris", now, tags={"region": "north"})
        token_b = add_screen(conn, "b-1", "paris", now, tags={"region": "south"})
        add_group(conn, "north", now, selector={"region": "north"})
        add_group(conn, "south", now, selector={"region": "south"})
    releases = []
    for group, grey in (("north", 10), ("south", 230)):
        content = make_content(group)
        content.write_image("media/b.png", grey)  # each group's own creative
        entries, _ = store_blobs(blobs, prepare_bundle(content.catalog, [content.rules], Validation()).files)
        releases.append(insert_release(central, group, entries, "test", now))
    with TestClient(create_app(central, blobs.root, clock=clock)) as client:
        yield Fleet(client, clock, token_a, token_b, releases[0], releases[1])


def _sha(release: Release, path: str) -> str:
    return next(f.sha256 for f in release.files if f.path == path)


def test_the_state_is_the_screens_own_groups(fleet: Fleet) -> None:
    response = fleet.get("/state", fleet.token_a)
    assert response.status_code == 200
    state = ScreenState.from_json(response.json())
    assert state.screen_id == "a-1" and state.release == fleet.release_a
    assert state.hours is not None and state.hours.timezone == "Europe/Paris"
    other = ScreenState.from_json(fleet.get("/state", fleet.token_b).json())
    assert other.release == fleet.release_b and other.release != fleet.release_a


def test_another_groups_blob_is_not_found(fleet: Fleet) -> None:
    own = _sha(fleet.release_a, "media/b.png")
    theirs = _sha(fleet.release_b, "media/b.png")
    assert own != theirs
    assert fleet.get(f"/blobs/{own}", fleet.token_a).status_code == 200
    assert fleet.get(f"/blobs/{theirs}", fleet.token_a).status_code == 404
    assert fleet.get(f"/blobs/{'0' * 64}", fleet.token_a).status_code == 404
    assert fleet.get("/blobs/not-a-hash", fleet.token_a).status_code == 404


def test_a_range_resumes_with_the_exact_tail(fleet: Fleet, blobs: BlobStore) -> None:
    sha = _sha(fleet.release_a, "media/a.png")
    whole = blobs.path_for(sha).read_bytes()
    full = fleet.get(f"/blobs/{sha}", fleet.token_a)
    assert full.content == whole and full.headers["accept-ranges"] == "bytes"
    tail = fleet.get(f"/blobs/{sha}", fleet.token_a, Range="bytes=17-")
    assert tail.status_code == 206 and tail.content == whole[17:]
    assert tail.headers["content-range"] == f"bytes 17-{len(whole) - 1}/{len(whole)}"
    middle = fleet.get(f"/blobs/{sha}", fleet.token_a, Range="bytes=5-9")
    assert middle.status_code == 206 and middle.content == whole[5:10]
    past = fleet.get(f"/blobs/{sha}", fleet.token_a, Range=f"bytes={len(whole)}-")
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(whole)}"


def test_parse_range_reads_one_byte_range() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=10-", 100) == ByteRange(10, 99)
    assert parse_range("bytes=10-500", 100) == ByteRange(10, 99)
    assert parse_range("bytes=-30", 100) == ByteRange(70, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert parse_range("items=1-2", 100) is None
    assert parse_range("bytes=9-3", 100) is None
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=100-", 100)
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-0", 100)


def test_an_unchanged_state_is_304_and_a_new_alert_changes_it(
    fleet: Fleet, central: Engine, blobs: BlobStore
) -> None:
    first = fleet.get("/state", fleet.token_a)
    etag = first.headers["etag"]
    again = fleet.get("/state", fleet.token_a, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    now = fleet.clock.now_utc()
    alert = create_alert(
        central, blobs, "north", "Evacuate by the north exit", now, until=now + timedelta(minutes=30)
    )
    changed = fleet.get("/state", fleet.token_a, **{"If-None-Match": etag})
    assert changed.status_code == 200
    state = ScreenState.from_json(changed.json())
    assert [a.alert_id for a in state.alerts] == [alert.alert_id]
    south = ScreenState.from_json(fleet.get("/state", fleet.token_b).json())
    assert south.alerts == ()
    fleet.clock.advance(31 * 60)  # expired
    assert ScreenState.from_json(fleet.get("/state", fleet.token_a).json()).alerts == ()
    second = create_alert(central, blobs, "north", "Store closing early", fleet.clock.now_utc())
    assert len(ScreenState.from_json(fleet.get("/state", fleet.token_a).json()).alerts) == 1
    clear_alert(central, second.alert_id, fleet.clock.now_utc())
    assert ScreenState.from_json(fleet.get("/state", fleet.token_a).json()).alerts == ()


def test_alert_media_is_fetchable_by_its_group_only(
    fleet: Fleet, central: Engine, blobs: BlobStore, make_content: Callable[..., Content]
) -> None:
    image = make_content("alert").write_image("media/exit.png", 77)
    alert = create_alert(central, blobs, "south", "Fire drill", fleet.clock.now_utc(), media=image)
    assert alert.media is not None and alert.media.path == f"media/alert-{alert.alert_id}.png"
    assert fleet.get(f"/blobs/{alert.media.sha256}", fleet.token_b).content == image.read_bytes()
    assert fleet.get(f"/blobs/{alert.media.sha256}", fleet.token_a).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz"])
def test_a_missing_or_bad_token_is_401(fleet: Fleet, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = fleet.client.get(API_PREFIX + "/state", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    sha = _sha(fleet.release_a, "catalog.yaml")
    assert fleet.client.get(f"{API_PREFIX}/blobs/{sha}", headers=headers).status_code == 401


def test_a_removed_screens_token_is_401(fleet: Fleet, central: Engine) -> None:
    with central.begin() as conn:
        remove_screen(conn, "a-1", fleet.clock.now_utc())
    response = fleet.get("/state", fleet.token_a)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
