"""The logical types every engine must compare alike: equal values, and one minimal change each.

Each case is one column: its values (Python, as a migration would hold them), the row whose value
changes and its changed value (1 microsecond, the 20th decimal, a flipped boolean, one JSON value,
one UUID bit, one time-zone hour...), and what each engine declares it as. An engine provider
(``engines.py``) writes these values in its own storage; the tests compare every engine pair.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

ROWS = 5


@dataclass(frozen=True)
class Case:
    column: str
    kind: str  # the logical type, as the providers map it to their own declared types
    values: tuple[Any, ...]  # one per row (ROWS), None = NULL
    change_row: int
    changed: Any
    numeric: bool = False
    skip: tuple[str, ...] = field(default=())  # engines that cannot hold these values (why in the comment)


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


CASES = (
    Case("c_int", "integer", (0, -5, 9007199254740993, 42, None), 2, 9007199254740994, numeric=True),
    Case(
        "c_big",
        "integer38",
        (Decimal("12345678901234567890123"), Decimal(-1), Decimal(0), None, Decimal(7)),
        0,
        Decimal("12345678901234567890124"),
        numeric=True,
    ),
    Case(
        "c_dec",
        "decimal38_20",
        (
            Decimal("1.00000000000000000001"),
            Decimal("-2.5"),
            Decimal("0"),
            None,
            Decimal("123456.78900000000000000000"),
        ),
        0,
        Decimal("1.00000000000000000002"),
        numeric=True,
    ),
    # 1e10, not 1e16: mongomock's $toDecimal cannot hold 1e16 with its 14 decimals (MongoDB can)
    Case("c_flt", "float", (0.1, 1e10, -2.5, 1 / 3, None), 0, 0.1000000000000001, numeric=True),
    Case("c_bool", "boolean", (True, False, None, True, False), 1, True),
    Case(
        "c_ts",
        "timestamp6",
        (
            datetime(2016, 2, 4, 19, 35, 16),
            datetime(2016, 2, 4, 19, 35, 16, 1),
            datetime(1999, 12, 31, 23, 59, 59, 500000),
            None,
            datetime(2024, 2, 29, 0, 0),
        ),
        1,
        datetime(2016, 2, 4, 19, 35, 16, 2),
        skip=("mongo",),
    ),  # BSON dates hold milliseconds
    Case(
        "c_tsms",
        "timestamp3",
        (
            datetime(2016, 2, 4, 19, 35, 16),
            datetime(2016, 2, 4, 19, 35, 16, 1000),
            None,
            datetime(2000, 1, 1),
            datetime(2024, 2, 29, 12, 0, 0, 999000),
        ),
        1,
        datetime(2016, 2, 4, 19, 35, 16, 2000),
    ),
    Case(
        "c_tstz",
        "timestamptz",
        (
            datetime(2016, 2, 4, 19, 35, 16, tzinfo=UTC),
            datetime(2020, 6, 1, 0, 0, 0, 250000, tzinfo=UTC),
            None,
            datetime(1971, 1, 1, tzinfo=UTC),
            datetime(2024, 12, 31, 23, 0, tzinfo=UTC),
        ),
        0,
        datetime(2016, 2, 4, 20, 35, 16, tzinfo=UTC),
    ),  # one time-zone hour
    Case(
        "c_date",
        "date",
        (date(2024, 1, 1), date(1999, 12, 31), None, date(2024, 2, 29), date(1970, 1, 1)),
        3,
        date(2024, 3, 1),
    ),
    Case(
        "c_time",
        "time",
        (time(12, 0, 1), time(0, 0), time(23, 59, 59, 1), None, time(7, 30, 0, 500000)),
        2,
        time(23, 59, 59, 2),
    ),
    Case("c_text", "text", ("it's", 'tab\there, "q"', "new\nline", "", None), 0, "it`s"),
    # What a transport's escaping must keep apart: the word NULL and NULL, a backslash before n or
    # N (the escapes of a newline and of NULL in tab-separated text), a bare carriage return.
    Case("c_text_escapes", "text", ("NULL", "back\\slash \\N", "cr\rhere", "\\", None), 1, "back\\slash \\n"),
    Case(
        "c_uuid",
        "uuid",
        (
            _uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            _uuid("00000000-0000-0000-0000-000000000000"),
            None,
            _uuid("ffffffff-ffff-4fff-bfff-ffffffffffff"),
            _uuid("123e4567-e89b-12d3-a456-426614174000"),
        ),
        0,
        _uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a10"),
    ),  # one bit
    Case(
        "c_json",
        "json",
        (
            {"b": 1, "a": [1, 2.5, "x"], "n": None},
            {"plan": "GOLD", "tier": 2},
            None,
            [1, 2, 3],
            {"nested": {"z": True, "y": 1.0}},
        ),
        1,
        {"plan": "GOLD", "tier": 3},
    ),
    Case("c_bin", "binary", (b"abc", b"hello world", b"", None, b"0123"), 0, b"abd"),
)


def changed_values(case: Case) -> tuple[Any, ...]:
    values = list(case.values)
    values[case.change_row] = case.changed
    return tuple(values)


def rows(cases: list[Case], *, changed: bool = False) -> list[dict[str, Any]]:
    """ROWS rows keyed by ``id``; with ``changed`` every case's change is applied (each on its row)."""
    out = [{"id": i} for i in range(ROWS)]
    for case in cases:
        values = changed_values(case) if changed else case.values
        for row, value in zip(out, values):
            row[case.column] = value
    return out


def shifted(value: datetime, hours: int) -> datetime:
    return (value + timedelta(hours=hours)).replace(tzinfo=timezone(timedelta(hours=hours)))
