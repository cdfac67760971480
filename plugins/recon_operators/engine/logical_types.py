"""Logical column types: what a value *is*, whatever engine stores it.

Every adapter maps its columns' declared types (pg_catalog, information_schema, the Parquet/Arrow
schema) to one ``LogicalType``; sides without declared types (CSV text, Mongo documents) infer
one from a sample of values and say so (``inferred=True``), so a declared type on the other side
wins over a guess. ``canonical`` then decides, per column pair, the one form both sides render.

Kinds: integer (signed/unsigned, any width), decimal(p, s), float, boolean, timestamp(p),
timestamptz (an instant), date, time, text (char, varchar, enum...), uuid, json, binary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

INTEGER, DECIMAL, FLOAT, BOOLEAN = "integer", "decimal", "float", "boolean"
TIMESTAMP, TIMESTAMPTZ, DATE, TIME = "timestamp", "timestamptz", "date", "time"
TEXT, UUID, JSON, BINARY = "text", "uuid", "json", "binary"
KINDS = (INTEGER, DECIMAL, FLOAT, BOOLEAN, TIMESTAMP, TIMESTAMPTZ, DATE, TIME, TEXT, UUID, JSON, BINARY)
NUMERIC_KINDS = (INTEGER, DECIMAL, FLOAT)
TEMPORAL_KINDS = (TIMESTAMP, TIMESTAMPTZ, DATE)


@dataclass(frozen=True)
class LogicalType:
    """One column's type. ``precision``: decimal digits, or fractional-second digits for
    timestamps and times, or 24/53 bits for floats. ``declared``: the engine's own spelling,
    for results (``numeric(14,2)``, ``tinyint(1)``). ``padded``: fixed-width CHAR (Postgres
    pads it with spaces on output)."""

    kind: str
    precision: int | None = None
    scale: int | None = None
    unsigned: bool = False
    declared: str = ""
    inferred: bool = False
    padded: bool = False

    def __str__(self) -> str:
        name = self.declared or self.kind
        return f"{name} (inferred)" if self.inferred else name


def text(declared: str = "text", *, inferred: bool = False) -> LogicalType:
    return LogicalType(TEXT, declared=declared, inferred=inferred)


# -- Postgres ------------------------------------------------------------------------------------
_PG_NAMES = {
    "smallint": INTEGER,
    "integer": INTEGER,
    "bigint": INTEGER,
    "oid": INTEGER,
    "real": FLOAT,
    "double precision": FLOAT,
    "boolean": BOOLEAN,
    "date": DATE,
    "uuid": UUID,
    "json": JSON,
    "jsonb": JSON,
    "bytea": BINARY,
}
_TYPMOD = re.compile(r"\((\d+)(?:,\s*(\d+))?\)")


def postgres_type(declared: str, category: str = "") -> LogicalType:
    """From ``format_type(oid, typmod)`` (``numeric(14,2)``, ``timestamp(3) with time zone``)."""
    name = declared.lower()
    base = _TYPMOD.sub("", name).strip()
    mod = _TYPMOD.search(name)
    first = int(mod.group(1)) if mod else None
    second = int(mod.group(2)) if mod and mod.group(2) else None
    if base in _PG_NAMES:
        kind = _PG_NAMES[base]
        return LogicalType(kind, precision=24 if base == "real" else (53 if kind == FLOAT else None), declared=declared)
    if base == "numeric":
        return LogicalType(
            DECIMAL, precision=first, scale=(second or 0) if first is not None else None, declared=declared
        )
    if base.startswith("timestamp"):
        kind = TIMESTAMPTZ if "with time zone" in base and "without" not in base else TIMESTAMP
        return LogicalType(kind, precision=6 if first is None else first, declared=declared)
    if base.startswith("time") and "with time zone" not in base:
        return LogicalType(TIME, precision=6 if first is None else first, declared=declared)
    if base in ("character", "bpchar"):
        return LogicalType(TEXT, declared=declared, padded=True)
    return text(declared)  # varchar, text, enums (category E), citext, intervals, arrays...


# -- MySQL / MariaDB -----------------------------------------------------------------------------
_MY_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year")
_MY_BINARY = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")


def mysql_type(
    data_type: str,
    column_type: str,
    precision: Any = None,
    scale: Any = None,
    datetime_precision: Any = None,
    is_json: bool = False,
) -> LogicalType:
    """From information_schema.COLUMNS (DATA_TYPE, COLUMN_TYPE, NUMERIC_*, DATETIME_PRECISION).
    ``tinyint(1)`` and ``bit(1)`` are booleans; MariaDB's JSON is LONGTEXT with a json_valid check."""
    data, column = data_type.lower(), column_type.lower()
    if is_json or data == "json":
        return LogicalType(JSON, declared="json")
    if data == "tinyint" and column.startswith("tinyint(1)"):
        return LogicalType(BOOLEAN, declared=column_type)
    if data == "bit":
        return LogicalType(BOOLEAN if column == "bit(1)" else BINARY, declared=column_type)
    if data in _MY_INTEGERS:
        return LogicalType(INTEGER, unsigned="unsigned" in column, declared=column_type)
    if data in ("decimal", "numeric"):
        return LogicalType(DECIMAL, precision=int(precision or 10), scale=int(scale or 0), declared=column_type)
    if data in ("float", "double", "real"):
        return LogicalType(FLOAT, precision=24 if data == "float" else 53, declared=column_type)
    if data == "datetime":
        return LogicalType(TIMESTAMP, precision=int(datetime_precision or 0), declared=column_type)
    if data == "timestamp":  # stored as an instant, read in the session's zone (UTC)
        return LogicalType(TIMESTAMPTZ, precision=int(datetime_precision or 0), declared=column_type)
    if data == "date":
        return LogicalType(DATE, declared=column_type)
    if data == "time":
        return LogicalType(TIME, precision=int(datetime_precision or 0), declared=column_type)
    if data in _MY_BINARY:
        return LogicalType(BINARY, declared=column_type)
    if data == "uuid":
        return LogicalType(UUID, declared=column_type)
    return text(column_type or data)


# MySQLdb cursor.description type codes (FIELD_TYPE), for query sides without a catalog entry.
_MY_CODES = {
    0: DECIMAL,
    246: DECIMAL,
    1: INTEGER,
    2: INTEGER,
    3: INTEGER,
    8: INTEGER,
    9: INTEGER,
    13: INTEGER,
    4: FLOAT,
    5: FLOAT,
    7: TIMESTAMPTZ,
    12: TIMESTAMP,
    10: DATE,
    14: DATE,
    11: TIME,
    245: JSON,
}


def mysql_description_type(type_code: int, display_size: Any, scale: Any) -> LogicalType:
    kind = _MY_CODES.get(type_code)
    if kind is None:
        return text(f"mysql type {type_code}")
    if type_code == 1 and display_size == 1:
        return LogicalType(BOOLEAN, declared="tinyint(1)")
    if kind == DECIMAL:
        return LogicalType(DECIMAL, scale=int(scale or 0), declared="decimal")
    if kind in (TIMESTAMP, TIMESTAMPTZ, TIME):
        return LogicalType(kind, precision=int(scale or 0) if scale and scale < 31 else 0, declared=kind)
    return LogicalType(kind, precision=53 if kind == FLOAT else None, declared=kind)


# -- Arrow (Parquet, registered datasets) --------------------------------------------------------
def arrow_type(data_type: Any) -> LogicalType:
    import pyarrow as pa

    t = pa.types
    declared = str(data_type)
    if t.is_boolean(data_type):
        return LogicalType(BOOLEAN, declared=declared)
    if t.is_integer(data_type):
        return LogicalType(INTEGER, unsigned=t.is_unsigned_integer(data_type), declared=declared)
    if t.is_decimal(data_type):
        return LogicalType(DECIMAL, precision=data_type.precision, scale=data_type.scale, declared=declared)
    if t.is_floating(data_type):
        return LogicalType(FLOAT, precision=24 if data_type.bit_width <= 32 else 53, declared=declared)
    if t.is_timestamp(data_type):
        digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[data_type.unit]
        return LogicalType(TIMESTAMPTZ if data_type.tz else TIMESTAMP, precision=digits, declared=declared)
    if t.is_date(data_type):
        return LogicalType(DATE, declared=declared)
    if t.is_time(data_type):
        return LogicalType(TIME, precision={"s": 0, "ms": 3, "us": 6, "ns": 9}[data_type.unit], declared=declared)
    if t.is_fixed_size_binary(data_type) and data_type.byte_width == 16 and "uuid" in declared:
        return LogicalType(UUID, declared=declared)
    if t.is_binary(data_type) or t.is_large_binary(data_type) or t.is_fixed_size_binary(data_type):
        return LogicalType(BINARY, declared=declared)
    if t.is_struct(data_type) or t.is_list(data_type) or t.is_large_list(data_type) or t.is_map(data_type):
        return LogicalType(JSON, declared=declared)
    if isinstance(data_type, pa.ExtensionType) and "uuid" in declared:
        return LogicalType(UUID, declared=declared)
    return text(declared)


# -- inferred from values (CSV text, Mongo documents) --------------------------------------------
_INTEGER_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)$")  # a leading zero (0812...) keeps a code as text
_DECIMAL_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)\.([0-9]+)$")
_FLOAT_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.(\d{1,9}))?(Z|[+-]\d{2}(:?\d{2})?)?$")
_TIME_TEXT = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,9})?$")
_UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
BOOLEAN_WORDS = {"true": True, "false": False, "t": True, "f": False, "yes": True, "no": False}


def _text_kind(value: str) -> tuple[str, int | None]:
    """The kind one text value looks like, and its scale or fractional digits."""
    if _INTEGER_TEXT.match(value):
        return INTEGER, None
    match = _DECIMAL_TEXT.match(value)
    if match:
        return DECIMAL, len(match.group(2))
    if _FLOAT_TEXT.match(value):
        return FLOAT, None
    if value.lower() in BOOLEAN_WORDS:
        return BOOLEAN, None
    if _DATE_TEXT.match(value):
        return DATE, None
    match = _TIMESTAMP_TEXT.match(value)
    if match:
        return (TIMESTAMPTZ if match.group(3) else TIMESTAMP), len(match.group(2) or "")
    if _TIME_TEXT.match(value):
        return TIME, None
    if _UUID_TEXT.match(value):
        return UUID, None
    if value[:1] in "{[" and value[-1:] in "}]":
        import json

        try:
            json.loads(value)
            return JSON, None
        except ValueError:
            pass
    return TEXT, None


def _merge(kinds: set[str]) -> str:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {INTEGER, DECIMAL}:
        return DECIMAL
    if kinds <= set(NUMERIC_KINDS):
        return FLOAT
    if kinds <= {TIMESTAMP, DATE}:
        return TIMESTAMP
    if kinds <= {TIMESTAMP, TIMESTAMPTZ, DATE}:
        return TIMESTAMPTZ
    return TEXT


def infer_from_text(values: Iterable[str | None]) -> LogicalType:
    """A CSV column's type from a sample: text unless every non-empty value says otherwise."""
    kinds: set[str] = set()
    digits = 0
    for value in values:
        if value is None or value.strip() == "":
            continue
        kind, scale = _text_kind(value.strip())
        kinds.add(kind)
        digits = max(digits, scale or 0)
        if kind == TEXT:
            break
    kind = _merge(kinds) if kinds else TEXT
    if kind == DECIMAL:
        return LogicalType(DECIMAL, scale=None, declared="decimal", inferred=True)  # the sample's scale is no bound
    if kind in (TIMESTAMP, TIMESTAMPTZ):
        return LogicalType(kind, precision=digits, declared=kind, inferred=True)
    return LogicalType(kind, declared=kind, inferred=True)


def infer_from_values(values: Iterable[Any]) -> LogicalType:
    """A Mongo field's type from a sample of decoded BSON values."""
    import datetime as dt
    import uuid

    from bson.decimal128 import Decimal128

    kinds: set[str] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            kinds.add(BOOLEAN)
        elif isinstance(value, int):
            kinds.add(INTEGER)
        elif isinstance(value, (Decimal128, Decimal)):
            kinds.add(DECIMAL)
        elif isinstance(value, float):
            kinds.add(FLOAT)
        elif isinstance(value, dt.datetime):
            kinds.add(TIMESTAMPTZ if value.tzinfo else TIMESTAMP)
        elif isinstance(value, dt.date):
            kinds.add(DATE)
        elif isinstance(value, uuid.UUID):
            kinds.add(UUID)
        elif isinstance(value, (bytes, bytearray)):
            kinds.add(BINARY)
        elif isinstance(value, (dict, list)):
            kinds.add(JSON)
        else:  # a BSON string is text (ObjectIds too): its values are not guessed at
            kinds.add(TEXT)
    kind = _merge(kinds) if kinds else TEXT
    return LogicalType(
        kind, precision=3 if kind in (TIMESTAMP, TIMESTAMPTZ) else None, declared=f"bson {kind}", inferred=True
    )


def as_inferred(logical: LogicalType) -> LogicalType:
    return replace(logical, inferred=True)
