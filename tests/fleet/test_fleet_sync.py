"""Fleet sync from a local SQLite store to the real central PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from signage.fleet.runner import APPLICATION_NAME, central_engine, prepare, run_sync
from signage.fleet.sync import read_watermark, sync_once, target_name
from signage.fleet.tables import synced_tables
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.models import HEARTBEAT, PLAY, row_to_heartbeat, row_to_play
from signage.testing.cut_proxy import CutProxy
from signage.testing.sample_plays import T0, sample_play

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 15, tzinfo=UTC)


def local_store(path: Path, plays: int, screen: str = "screen-1") -> Engine:
    sink = StoreWriter(make_engine(f"sqlite:///{path}"), screen_id=screen, batch_max=5000)
    for i in range(plays):
        sink.play_ended(sample_play(i, screen_id=screen))
    sink.write_heartbeat(Heartbeat(screen, "store-1", T0, playing_ad_id="ad-1", camera_online=True))
    sink.start()
    assert sink.flush(60)
    sink.close()
    return sink.engine


def contents(engine: Engine) -> tuple[dict[str, Any], list[Heartbeat]]:
    with engine.connect() as conn:
        plays = {str(r.play_id): row_to_play(r) for r in conn.execute(sa.select(PLAY))}
        beats = [
            row_to_heartbeat(r) for r in conn.execute(sa.select(HEARTBEAT).order_by(HEARTBEAT.c.screen_id))
        ]
    return plays, beats


def central_play_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM play")).scalar_one())


def via(proxy: CutProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def test_sync_ships_everything_once_and_then_only_changes(tmp_path: Path, pg_url: str) -> None:
    local = local_store(tmp_path / "a.db", 1200)
    central = central_engine(pg_url)
    prepare(local, central)
    target = target_name(pg_url)

    first = sync_once(local, central, target=target, now=NOW, batch_rows=500)
    assert [(t.table, t.rows, t.batches) for t in first.tables if t.rows] == [
        ("play", 1200, 3),
        ("heartbeat", 1, 1),
    ]
    assert contents(central) == contents(local)
    assert sync_once(local, central, target=target, now=NOW).rows == 0

    # A play closed later and a new status are shipped again, overwriting the central copies.
    some_id = next(iter(contents(local)[0]))
    with local.begin() as conn:
        conn.execute(PLAY.update().where(PLAY.c.play_id == uuid.UUID(some_id)).values(reason="late"))
    sink = StoreWriter(local, migrate=False).start()
    sink.write_heartbeat(Heartbeat("screen-1", "store-1", T0 + timedelta(minutes=1), camera_online=False))
    assert sink.flush(10)
    sink.close()
    again = sync_once(local, central, target=target, now=NOW)
    assert [(t.table, t.rows) for t in again.tables if t.rows] == [("play", 1), ("heartbeat", 1)]
    assert contents(central) == contents(local)
    central.dispose()


def test_two_screens_share_the_central_database(tmp_path: Path, pg_url: str) -> None:
    central = central_engine(pg_url)
    merged: dict[str, Any] = {}
    for screen in ("screen-1", "screen-2"):
        local = local_store(tmp_path / f"{screen}.db", 300, screen)
        prepare(local, central)
        sync_once(local, central, target=target_name(pg_url), now=NOW)
        merged.update(contents(local)[0])
    plays, beats = contents(central)
    assert plays == merged and len(plays) == 600
    assert [b.screen_id for b in beats] == ["screen-1", "screen-2"]
    central.dispose()


def test_a_replayed_batch_after_a_lost_watermark_makes_no_duplicates(tmp_path: Path, pg_url: str) -> None:
    local = local_store(tmp_path / "a.db", 700)
    central = central_engine(pg_url)
    prepare(local, central)
    target = target_name(pg_url)
    sync_once(local, central, target=target, now=NOW, batch_rows=300)
    with local.begin() as conn:  # as if the player died between the central commit and the watermark
        conn.execute(sa.text("DELETE FROM sync_state"))
    assert sync_once(local, central, target=target, now=NOW, batch_rows=300).rows == 701
    assert central_play_count(central) == 700
    assert contents(central) == contents(local)
    central.dispose()


@pytest.mark.slow
def test_the_link_dropping_mid_batch_loses_nothing_and_the_next_pass_resumes(
    tmp_path: Path, pg_url: str
) -> None:
    local = local_store(tmp_path / "a.db", 3000)
    direct = central_engine(pg_url)
    prepare(local, direct)
    target = target_name(pg_url)

    # Measure what one 500-row batch weighs on the wire with a throwaway screen's plays...
    probe = CutProxy(("127.0.0.1", make_url(pg_url).port or 5432))
    through = central_engine(via(probe, pg_url))
    with through.connect():
        pass
    handshake = probe.client_bytes
    dry_local = local_store(tmp_path / "b.db", 500, "screen-dry")
    sync_once(dry_local, through, target=target, now=NOW, batch_rows=500)
    batch_bytes = probe.client_bytes - handshake
    through.dispose()
    probe.close()
    with direct.begin() as conn:
        conn.execute(sa.text("DELETE FROM play WHERE screen_id = 'screen-dry'"))
        conn.execute(sa.text("DELETE FROM heartbeat WHERE screen_id = 'screen-dry'"))

    # ...then cut the link halfway through the third batch.
    proxy = CutProxy(("127.0.0.1", make_url(pg_url).port or 5432))
    proxy.cut_after = handshake + int(batch_bytes * 2.5)
    flaky = central_engine(via(proxy, pg_url))
    with pytest.raises(sa.exc.OperationalError):
        sync_once(local, flaky, target=target, now=NOW, batch_rows=500)
    flaky.dispose()
    proxy.close()

    committed = central_play_count(direct)
    with local.connect() as conn:
        mark = read_watermark(conn, target, "play")
        below = conn.execute(sa.text("SELECT count(*) FROM play WHERE sync_seq <= :m"), {"m": mark}).scalar()
    assert 0 < committed < 3000 and committed % 500 == 0  # whole batches only: the cut one rolled back
    assert below == committed  # the watermark moved exactly as far as the central commits

    resumed = sync_once(local, direct, target=target, now=NOW, batch_rows=500)
    assert resumed.tables[0].rows == 3000 - committed  # resumed, not restarted
    assert central_play_count(direct) == 3000
    assert contents(direct) == contents(local)
    direct.dispose()


@pytest.mark.slow
def test_a_killed_backend_mid_batch_then_the_sync_process_recovers(tmp_path: Path, pg_url: str) -> None:
    local = local_store(tmp_path / "a.db", 6000)
    local_url = str(local.url)
    watcher = central_engine(pg_url)
    killed: list[int] = []

    def kill_the_first_batch_after_one_committed() -> None:
        # Wait for one committed batch, then terminate the sync's backend inside its next transaction.
        deadline = time.monotonic() + 60
        with watcher.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            while time.monotonic() < deadline and not killed:
                exists = conn.execute(sa.text("SELECT to_regclass('play') IS NOT NULL")).scalar_one()
                if exists and conn.execute(sa.text("SELECT count(*) FROM play")).scalar_one() > 0:
                    pid = conn.execute(
                        sa.text(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = :app "
                            "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()"
                        ),
                        {"app": APPLICATION_NAME},
                    ).scalar()
                    if pid and conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar():
                        killed.append(pid)
                time.sleep(0.002)

    killer = threading.Thread(target=kill_the_first_batch_after_one_committed)
    killer.start()
    stop = threading.Event()
    outcome = run_sync(local_url, pg_url, once=True, stop=stop, batch_rows=1000)
    killer.join()
    assert killed, "the backend was never caught inside a batch transaction"
    assert outcome.error and "failed" in outcome.error
    partial = central_play_count(watcher)
    assert partial < 6000

    # The process comes back (as systemd would restart it) and finishes the job.
    done = run_sync(local_url, pg_url, once=True, stop=stop, batch_rows=1000)
    assert done.error == "" and done.rows == 6000 - partial + 1  # + the heartbeat
    central = central_engine(pg_url)
    assert contents(central) == contents(local)
    central.dispose()
    watcher.dispose()


def test_only_postgresql_can_be_the_central_database(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be PostgreSQL"):
        central_engine(f"sqlite:///{tmp_path / 'c.db'}")


def test_every_table_with_a_sync_seq_is_synced_plays_first() -> None:
    names = [t.name for t in synced_tables()]
    assert names[0] == "play" and names[-1] == "heartbeat"
    assert {"impression", "impression_track"} <= set(names)  # the impressions engineer's tables
