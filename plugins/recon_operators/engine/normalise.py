"""Declared per-column normalisation, identical on every side.

A rule says how a column's values are made comparable: trim, case, empty string as NULL,
decimal scale, the time zone naive timestamps were written in. SQL sides apply the rule inside
the database (see ``dialects``); Mongo and Python-side code apply it with ``normalise_value``.
Both produce the same canonical text, so ``1.10`` and ``1.1`` or a ``timestamp`` in +07:00 and a
``datetime`` in UTC compare equal when the rule says they should.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COLUMN_TYPES = ("text", "decimal", "integer", "float", "boolean", "timestamp", "date", "time", "uuid", "json", "binary")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


class NormaliseError(ValueError):
    """A rule cannot be applied (unknown type, bad time zone, a value of the wrong type)."""


@dataclass(frozen=True)
class ColumnRule:
    """How one column's values are made comparable. Empty rule: compare values as they are."""

    type: str | None = None  # one of COLUMN_TYPES: the canonical form to compare in (canonical.py)
    trim: bool = False
    case: str | None = None  # upper | lower
    empty_as_null: bool = False
    scale: int | None = None
    timezone: str | None = None  # zone naive timestamps were written in (e.g. +07:00, UTC)

    def __post_init__(self) -> None:
        if self.type is not None and self.type not in COLUMN_TYPES:
            raise NormaliseError(f"type must be one of {', '.join(COLUMN_TYPES)}, not {self.type!r}")
        if self.case not in (None, "upper", "lower"):
            raise NormaliseError(f"case must be upper or lower, not {self.case!r}")
        if self.scale is not None and not (isinstance(self.scale, int) and 0 <= self.scale <= 18):
            raise NormaliseError(f"scale must be an integer 0..18, not {self.scale!r}")
        if self.scale is not None and self.type not in (None, "decimal"):
            raise NormaliseError("scale applies to decimal columns only")
        if self.timezone is not None:
            tzinfo_for(self.timezone)

    @property
    def effective_type(self) -> str | None:
        return "decimal" if self.scale is not None and self.type is None else self.type

    def merged(self, override: "ColumnRule | None") -> "ColumnRule":
        """This rule with a side's override applied (fields the override sets win)."""
        if override is None:
            return self
        changes = {k: v for k, v in asdict(override).items() if v not in (None, False)}
        return replace(self, **changes)

    def describe(self) -> str:
        """Short text for result details: which rule applied."""
        parts = []
        if self.effective_type:
            parts.append(self.effective_type)
        if self.trim:
            parts.append("trim")
        if self.case:
            parts.append(self.case)
        if self.empty_as_null:
            parts.append("empty_as_null")
        if self.scale is not None:
            parts.append(f"scale={self.scale}")
        if self.timezone:
            parts.append(f"tz={self.timezone}->UTC")
        return ",".join(parts) or "as-is"


def offset_minutes(zone: str) -> int | None:
    """Minutes east of UTC for ``UTC`` and ``+HH:MM`` zones; None for named (IANA) zones."""
    if zone.upper() == "UTC":
        return 0
    match = _OFFSET.match(zone)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return minutes if match.group(1) == "+" else -minutes


def tzinfo_for(name: str) -> timezone | ZoneInfo:
    """``UTC``, a fixed offset ``+07:00``, or an IANA zone name."""
    minutes = offset_minutes(name)
    if minutes is not None:
        return timezone(timedelta(minutes=minutes))  # +00:00 and UTC both give timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise NormaliseError(f"unknown time zone {name!r} (use UTC, +HH:MM or an IANA name)") from None


def normalise_value(value: Any, rule: ColumnRule) -> Any:
    """The canonical form of one value under a rule: text, Decimal, int or None."""
    if value is None:
        return None
    kind = rule.effective_type
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if kind in (None, "text"):
        text = value if isinstance(value, str) else render(value, rule)
        if rule.trim:
            text = text.strip(" ")  # spaces only, as SQL TRIM does
        if rule.case == "upper":
            text = text.upper()
        elif rule.case == "lower":
            text = text.lower()
        if rule.empty_as_null and text == "":
            return None
        return text
    if isinstance(value, str):
        stripped = value.strip()
        if stripped == "" and (rule.empty_as_null or kind != "text"):
            return None
        value = stripped
    if kind == "decimal":
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise NormaliseError(f"{value!r} is not a decimal number") from None
        if rule.scale is not None:
            number = number.quantize(Decimal(1).scaleb(-rule.scale), rounding=ROUND_HALF_UP)
        return number
    if kind == "integer":
        try:
            return int(Decimal(str(value)))
        except InvalidOperation:
            raise NormaliseError(f"{value!r} is not an integer") from None
    if kind == "timestamp":
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if value.tzinfo is None:
            value = value.replace(tzinfo=tzinfo_for(rule.timezone or "UTC"))
        return value.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)
    if kind == "date":
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat()
    raise NormaliseError(f"unsupported type {kind!r}")


def render(normalised: Any, rule: ColumnRule | None = None) -> str | None:
    """Text form of an already-normalised value (no conversion is applied twice)."""
    rule = rule or ColumnRule()
    if normalised is None:
        return None
    if isinstance(normalised, Decimal):
        if rule.scale is not None:
            return f"{normalised:.{rule.scale}f}"
        return format(normalised.normalize(), "f") if normalised == normalised.to_integral() else format(normalised, "f")
    if isinstance(normalised, bool):
        return "1" if normalised else "0"
    if isinstance(normalised, datetime):
        if normalised.tzinfo is not None:
            normalised = normalised.astimezone(timezone.utc)
        return normalised.strftime(TIMESTAMP_FORMAT)
    if isinstance(normalised, date):
        return normalised.isoformat()
    return normalised if isinstance(normalised, str) else str(normalised)


def canonical_text(value: Any, rule: ColumnRule | None = None) -> str | None:
    """Canonical text of a raw value: for group keys and hashes, equal across engines."""
    rule = rule or ColumnRule()
    return render(normalise_value(value, rule), rule)
