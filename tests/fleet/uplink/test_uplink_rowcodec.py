"""The row codec: every synced table's rows survive JSON, and the decoder refuses what is not a row."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from signage.fleet.rowcodec import RowCodecError, decode_row, decode_rows, encode_row, shipped_columns
from signage.fleet.tables import synced_tables
from signage.store import Heartbeat, StoreWriter
from signage.store.engine import make_engine
from signage.store.models import PLAY
from signage.store.syncseq import SYNC_COLUMN
from signage.store.types import UTCDateTime
from signage.testing.sample_plays import T0, sample_play


def value_for(column: sa.Column[Any], i: int) -> object:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return T0 + timedelta(seconds=i, microseconds=123456)
    if isinstance(kind, sa.Uuid):
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{column.name}-{i}")
    if isinstance(kind, sa.Boolean):
        return i % 2 == 0
    if isinstance(kind, sa.Integer):
        return 2**40 + i
    if isinstance(kind, sa.Float):
        return 0.1 * i + 1 / 3
    length = getattr(kind, "length", None) or 200
    return f"{column.name}-é-{i}"[:length]


def test_every_synced_table_round_trips_through_json() -> None:
    for table in synced_tables():
        for i in range(3):
            row = {c.name: value_for(c, i) for c in shipped_columns(table)}
            if i == 2:  # every nullable column empty
                row.update({c.name: None for c in shipped_columns(table) if c.nullable and not c.primary_key})
            wire = json.loads(json.dumps(encode_row(table, row)))
            assert SYNC_COLUMN not in wire
            assert decode_row(table, wire) == row, table.name


def test_rows_read_from_a_store_round_trip(tmp_path: Path) -> None:
    sink = StoreWriter(make_engine(f"sqlite:///{tmp_path / 's.db'}"), screen_id="s1")
    sink.play_ended(sample_play(0, screen_id="s1"))
    sink.play_started(sample_play(1, screen_id="s1", ended=False))
    sink.write_heartbeat(Heartbeat("s1", "st", T0, camera_online=True, release_id="north#2"))
    sink.start()
    assert sink.flush(30)
    sink.close()
    with sink.engine.connect() as conn:
        for table in synced_tables():
            rows = [dict(r._mapping) for r in conn.execute(sa.select(*shipped_columns(table)))]
            assert decode_rows(table, json.loads(json.dumps([encode_row(table, r) for r in rows]))) == rows
    sink.engine.dispose()


def play_doc(**changes: object) -> dict[str, object]:
    row = encode_row(PLAY, {c.name: value_for(c, 1) for c in shipped_columns(PLAY)})
    row.update(changes)
    return row


@pytest.mark.parametrize(
    ("changes", "column", "words"),
    [
        ({"surprise": 1}, "surprise", "unknown column"),
        ({"sync_seq": 5}, "sync_seq", "unknown column"),
        ({"play_id": "not-a-uuid"}, "play_id", "not a UUID"),
        ({"play_id": None}, "play_id", "null is not allowed"),
        ({"started_at": "2026-03-14T09:00:00"}, "started_at", "no time zone"),
        ({"started_at": 17}, "started_at", "ISO 8601"),
        ({"planned_s": "8"}, "planned_s", "expected a number"),
        ({"planned_s": True}, "planned_s", "expected a number"),
        ({"present_at_start": 1.5}, "present_at_start", "expected an integer"),
        ({"audience_known": 1}, "audience_known", "true or false"),
        ({"ad_id": 12}, "ad_id", "expected a string"),
        ({"screen_id": "x" * 65}, "screen_id", "holds 64"),
        ({"advertiser": None}, "advertiser", "null is not allowed"),
    ],
)
def test_decoding_is_strict_and_names_the_column(changes: dict[str, object], column: str, words: str) -> None:
    with pytest.raises(RowCodecError, match=words) as caught:
        decode_rows(PLAY, [play_doc(), play_doc(**changes)])
    assert f"play row 1 column {column!r}" in str(caught.value)


def test_a_missing_column_is_refused_unless_it_may_be_null() -> None:
    doc = play_doc()
    del doc["release_id"]  # a screen that predates the column
    assert decode_row(PLAY, doc)["release_id"] is None
    del doc["campaign"]
    with pytest.raises(RowCodecError, match="'campaign': missing"):
        decode_row(PLAY, doc)
    with pytest.raises(RowCodecError, match="a row is a JSON object"):
        decode_rows(PLAY, [[1, 2]])
    with pytest.raises(RowCodecError, match="'rows' is a JSON list"):
        decode_rows(PLAY, {"play_id": 1})


def test_times_are_sent_in_utc_and_encoding_checks_types() -> None:
    paris = timezone(timedelta(hours=1))
    row = {c.name: value_for(c, 1) for c in shipped_columns(PLAY)}
    row["started_at"] = datetime(2026, 3, 14, 10, 0, tzinfo=paris)
    assert encode_row(PLAY, row)["started_at"] == "2026-03-14T09:00:00+00:00"
    assert decode_row(PLAY, encode_row(PLAY, row))["started_at"] == datetime(2026, 3, 14, 9, tzinfo=UTC)
    row["planned_s"] = float("nan")
    with pytest.raises(RowCodecError, match="'planned_s': nan is not a finite number"):
        encode_row(PLAY, row)
    del row["planned_s"]
    with pytest.raises(RowCodecError, match="'planned_s': missing"):
        encode_row(PLAY, row)
