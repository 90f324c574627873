"""Rows of the synced tables as JSON: what a screen posts to ``/fleet/v1/rows/<table>``.

One JSON object per row, one key per shipped column (every column but ``sync_seq``): UUIDs as their
canonical string, times as ISO 8601 in UTC, numbers, booleans, strings and ``null``. Decoding is
strict, because it runs on the server for rows from the network: an unknown or missing column, a
value of the wrong type, a string longer than its column or a naive time is refused with an error
that names the table, the row and the column. A nullable column that a row leaves out is ``null``
(a screen a release behind the server does not know a column added since).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from signage.store.syncseq import SYNC_COLUMN
from signage.store.types import UTCDateTime


class RowCodecError(ValueError):
    """A row that cannot be encoded or decoded; the message names the table, row and column."""


def shipped_columns(table: sa.Table) -> tuple[sa.Column[Any], ...]:
    return tuple(c for c in table.columns if c.name != SYNC_COLUMN)


def _kind(column: sa.Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, UTCDateTime | sa.DateTime):
        return "time"
    if isinstance(kind, sa.Uuid):
        return "uuid"
    if isinstance(kind, sa.Boolean):
        return "bool"
    if isinstance(kind, sa.Integer):  # BigInteger and SmallInteger too
        return "int"
    if isinstance(kind, sa.Float | sa.Numeric):
        return "float"
    if isinstance(kind, sa.String):  # Text too
        return "str"
    raise RowCodecError(f"column {column.table.name}.{column.name} has a type the row codec does not ship")


def _where(table: sa.Table, index: int | None, column: str) -> str:
    row = "" if index is None else f" row {index}"
    return f"{table.name}{row} column {column!r}"


def _encode_value(kind: str, value: object, where: str) -> object:
    if value is None:
        return None
    if kind == "time":
        if not isinstance(value, datetime):
            raise RowCodecError(f"{where}: expected a time, got {type(value).__name__}")
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if kind == "uuid":
        if not isinstance(value, uuid.UUID | str):
            raise RowCodecError(f"{where}: expected a UUID, got {type(value).__name__}")
        return str(uuid.UUID(str(value)))
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RowCodecError(f"{where}: expected a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise RowCodecError(f"{where}: {value} is not a finite number")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RowCodecError(f"{where}: expected an integer, got {type(value).__name__}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise RowCodecError(f"{where}: expected true or false, got {type(value).__name__}")
        return value
    if not isinstance(value, str):
        raise RowCodecError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def encode_row(table: sa.Table, row: Mapping[str, object]) -> dict[str, object]:
    """One row (column name -> Python value, as read from the store) as a JSON-ready object."""
    out: dict[str, object] = {}
    for column in shipped_columns(table):
        if column.name not in row:
            raise RowCodecError(f"{_where(table, None, column.name)}: missing")
        out[column.name] = _encode_value(_kind(column), row[column.name], _where(table, None, column.name))
    return out


def encode_rows(table: sa.Table, rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    return [encode_row(table, row) for row in rows]


def _decode_value(column: sa.Column[Any], value: object, where: str) -> object:
    if value is None:
        if not column.nullable or column.primary_key:
            raise RowCodecError(f"{where}: null is not allowed")
        return None
    kind = _kind(column)
    if kind == "time":
        if not isinstance(value, str):
            raise RowCodecError(f"{where}: expected an ISO 8601 time string, got {type(value).__name__}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RowCodecError(f"{where}: not an ISO 8601 time: {value[:40]!r}") from exc
        if parsed.tzinfo is None:
            raise RowCodecError(f"{where}: the time {value[:40]!r} has no time zone")
        return parsed.astimezone(UTC)
    if kind == "uuid":
        if not isinstance(value, str):
            raise RowCodecError(f"{where}: expected a UUID string, got {type(value).__name__}")
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise RowCodecError(f"{where}: not a UUID: {value[:40]!r}") from exc
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RowCodecError(f"{where}: expected a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise RowCodecError(f"{where}: {value} is not a finite number")
        return float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RowCodecError(f"{where}: expected an integer, got {type(value).__name__}")
        if not -(2**63) <= value < 2**63:
            raise RowCodecError(f"{where}: {value} does not fit a 64-bit integer")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise RowCodecError(f"{where}: expected true or false, got {type(value).__name__}")
        return value
    if not isinstance(value, str):
        raise RowCodecError(f"{where}: expected a string, got {type(value).__name__}")
    length = getattr(column.type, "length", None)
    if length is not None and len(value) > length:
        raise RowCodecError(f"{where}: {len(value)} characters, the column holds {length}")
    if "\x00" in value:
        raise RowCodecError(f"{where}: a string with a NUL character")
    return value


def decode_row(table: sa.Table, doc: object, index: int | None = None) -> dict[str, object]:
    """A row posted as JSON, back to column values for ``signage.store.sql.upsert``."""
    if not isinstance(doc, dict):
        raise RowCodecError(f"{table.name} row {index}: a row is a JSON object")
    columns = {c.name: c for c in shipped_columns(table)}
    unknown = sorted(set(doc) - set(columns))
    if unknown:
        raise RowCodecError(f"{_where(table, index, str(unknown[0]))}: unknown column")
    out: dict[str, object] = {}
    for name, column in columns.items():
        where = _where(table, index, name)
        if name not in doc:
            if not column.nullable or column.primary_key:
                raise RowCodecError(f"{where}: missing")
            out[name] = None
            continue
        out[name] = _decode_value(column, doc[name], where)
    return out


def decode_rows(table: sa.Table, docs: object) -> list[dict[str, object]]:
    if not isinstance(docs, list):
        raise RowCodecError(f"{table.name}: 'rows' is a JSON list")
    return [decode_row(table, doc, i) for i, doc in enumerate(docs)]
