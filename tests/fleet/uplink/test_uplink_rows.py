"""Rows over HTTP to a real central server: resumable, idempotent, and scoped to the token's screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from uplink_helpers import NOW, Central, local_store, table_contents

from signage.fleet.http_target import HttpTarget, UplinkClient, row_bodies
from signage.fleet.rowcodec import encode_row, shipped_columns
from signage.fleet.sync import TargetError, read_watermark, sync_once
from signage.fleet.tables import synced_tables
from signage.store.models import PLAY
from signage.testing.cut_proxy import CutProxy

pytestmark = pytest.mark.postgres


def client(central: Central, screen: str = "screen-a", url: str | None = None, **kw: Any) -> UplinkClient:
    return UplinkClient(url or central.url, central.tokens[screen], timeout_s=10, **kw)


def plays_of(engine: sa.Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*shipped_columns(PLAY)).order_by(PLAY.c.sync_seq))
        return [dict(r._mapping) for r in rows]


def test_every_synced_table_ships_over_http_once(tmp_path: Path, central: Central) -> None:
    local = local_store(tmp_path / "a.db", 40, "screen-a", impressions=10)
    with client(central) as link:
        target = HttpTarget(link)
        first = sync_once(local, target, target=target.name, now=NOW, batch_rows=15)
        assert {t.table: t.rows for t in first.tables} == {
            "play": 40, "impression": 10, "impression_track": 20, "occupancy": 2, "heartbeat": 1,
            **{t.name: 0 for t in synced_tables() if t.name not in (
                "play", "impression", "impression_track", "occupancy", "heartbeat")},
        }  # fmt: skip
        assert table_contents(central.engine) == table_contents(local)
        assert sync_once(local, target, target=target.name, now=NOW).rows == 0
    local.dispose()


def test_a_link_cut_mid_post_ships_the_batch_again_without_duplicates(
    tmp_path: Path, central: Central
) -> None:
    local = local_store(tmp_path / "a.db", 1000, "screen-a")
    bodies = row_bodies(PLAY, plays_of(local)[:300])
    assert len(bodies) == 1
    proxy = CutProxy(("127.0.0.1", int(central.url.rsplit(":", 1)[1])))
    # Two 300-row posts get through; the third is cut half-way through its body.
    proxy.cut_after = int(len(bodies[0][0]) * 2.5) + 3 * 400
    flaky = client(central, url=f"http://127.0.0.1:{proxy.port}")
    with flaky, pytest.raises(TargetError, match="rows/play"):  # the watermarks: the server behind
        sync_once(local, HttpTarget(flaky), target=central.url, now=NOW, batch_rows=300)
    proxy.close()
    assert central.count("play") == 600  # whole posts only: the cut one wrote nothing
    with local.connect() as conn:
        mark = read_watermark(conn, central.url, "play")
        below = conn.execute(sa.text("SELECT count(*) FROM play WHERE sync_seq <= :m"), {"m": mark}).scalar()
    assert below == 600  # the watermark moved exactly as far as the server's commits

    with client(central) as link:
        direct = HttpTarget(link)
        assert direct.name == central.url
        resumed = sync_once(local, direct, target=direct.name, now=NOW, batch_rows=300)
    assert resumed.tables[0].rows == 400  # resumed, not restarted
    assert central.count("play") == 1000
    assert table_contents(central.engine) == table_contents(local)
    local.dispose()


class LoseTheAnswer(httpx.BaseTransport):
    """Forwards to the real server, but the answer to post number ``lose`` never arrives."""

    def __init__(self, lose: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose, self.posts = lose, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.posts += 1
        if self.posts == self.lose:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the server committed", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_an_answer_lost_after_the_commit_ships_again_as_a_no_op(tmp_path: Path, central: Central) -> None:
    local = local_store(tmp_path / "a.db", 900, "screen-a")
    with client(central, transport=LoseTheAnswer(lose=2)) as lossy:
        target = HttpTarget(lossy)
        with pytest.raises(TargetError, match="ReadError"):
            sync_once(local, target, target=target.name, now=NOW, batch_rows=300)
        assert central.count("play") == 600  # the server committed the second batch...
        with local.connect() as conn:  # ...but the screen never heard so
            assert read_watermark(conn, target.name, "play") == 300
        again = sync_once(local, target, target=target.name, now=NOW, batch_rows=300)
    assert again.tables[0].rows == 600  # batch two again, then three
    assert central.count("play") == 900
    assert table_contents(central.engine) == table_contents(local)
    local.dispose()


def post(central: Central, screen: str, table: str, rows: list[dict[str, object]]) -> httpx.Response:
    body = {"rows": [encode_row(next(t for t in synced_tables() if t.name == table), r) for r in rows]}
    headers = {"Authorization": f"Bearer {central.tokens[screen]}"}
    return httpx.post(f"{central.url}/fleet/v1/rows/{table}", json=body, headers=headers, timeout=10)


def rows_of(engine: sa.Engine, table: str) -> list[dict[str, object]]:
    chosen = next(t for t in synced_tables() if t.name == table)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(*shipped_columns(chosen)))]


def test_one_row_of_another_screen_refuses_the_whole_post(tmp_path: Path, central: Central) -> None:
    a = plays_of(local_store(tmp_path / "a.db", 10, "screen-a"))
    b = plays_of(local_store(tmp_path / "b.db", 1, "screen-b"))
    answer = post(central, "screen-a", "play", [*a, *b])
    assert answer.status_code == 403
    assert "play row 10 is of screen 'screen-b', not 'screen-a'" in answer.json()["detail"]
    assert central.count("play") == 0


def test_a_stolen_token_of_a_cannot_write_or_overwrite_what_is_b_s(tmp_path: Path, central: Central) -> None:
    b_store = local_store(tmp_path / "b.db", 5, "screen-b", impressions=2)
    with client(central, "screen-b") as link:
        sync_once(b_store, HttpTarget(link), target=central.url, now=NOW)
    before = table_contents(central.engine)
    b_plays = rows_of(b_store, "play")
    b_tracks, b_impressions = rows_of(b_store, "impression_track"), rows_of(b_store, "impression")
    relabel = [{**r, "screen_id": "screen-a"} for r in b_plays]
    attempts = {
        "B's new plays": post(central, "screen-a", "play", b_plays),
        "B's plays relabelled as A's": post(central, "screen-a", "play", relabel),
        "B's impressions relabelled": post(
            central, "screen-a", "impression", [{**r, "screen_id": "screen-a"} for r in b_impressions]
        ),
        "tracks of B's plays": post(central, "screen-a", "impression_track", b_tracks),
        "B's heartbeat": post(central, "screen-a", "heartbeat", rows_of(b_store, "heartbeat")),
        "B's occupancy": post(central, "screen-a", "occupancy", rows_of(b_store, "occupancy")),
    }
    assert {what: r.status_code for what, r in attempts.items()} == {what: 403 for what in attempts}
    assert table_contents(central.engine) == before
    b_store.dispose()


def test_tracks_wait_for_their_play_and_a_bad_post_is_refused_in_words(
    tmp_path: Path, central: Central
) -> None:
    local = local_store(tmp_path / "a.db", 3, "screen-a", impressions=1)
    early = post(central, "screen-a", "impression_track", rows_of(local, "impression_track"))
    assert early.status_code == 409 and "not known centrally yet" in early.json()["detail"]
    headers = {"Authorization": f"Bearer {central.tokens['screen-a']}"}
    rows_url = f"{central.url}/fleet/v1/rows"
    assert httpx.post(f"{rows_url}/sync_state", json={"rows": []}, headers=headers).status_code == 404
    assert httpx.post(f"{rows_url}/play", json={"rows": []}).status_code == 401
    bad = httpx.post(f"{rows_url}/play", json={"rows": [{"play_id": "x"}]}, headers=headers)
    assert bad.status_code == 422 and "play row 0 column" in bad.json()["detail"]
    huge = httpx.post(f"{rows_url}/play", content=b" " * (8 * 1024 * 1024 + 1), headers=headers)
    assert huge.status_code == 413
    assert httpx.post(f"{rows_url}/play", content=b"{", headers=headers).status_code == 400
    assert central.count("play") == 0
    local.dispose()


def test_the_registry_says_which_store_a_row_is_filed_under(tmp_path: Path, central: Central) -> None:
    local = local_store(tmp_path / "a.db", 1, "screen-a")
    beats = [{**r, "store_id": "store-9"} for r in rows_of(local, "heartbeat")]  # a wrong local setting
    answer = post(central, "screen-a", "heartbeat", beats)
    assert answer.status_code == 200 and answer.json() == {"accepted": 1}
    with central.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT screen_id, store_id FROM heartbeat")).all()
    assert [tuple(r) for r in stored] == [("screen-a", "store-1")]
    local.dispose()
