"""Declared per-column normalisation rules, on top of the canonical forms of ``canonical``.

A rule says how a column's values are made comparable beyond what their types say: the form to
compare in (``type``), trim, case, empty string as NULL, a decimal scale to round to, the time
zone naive timestamps were written in. SQL sides apply it inside the database (``dialects``),
Python-side readers through ``canonical.python_text``: both give the same canonical text.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COLUMN_TYPES = ("text", "decimal", "integer", "float", "boolean", "timestamp", "date", "time", "uuid", "json", "binary")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


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

    def merged(self, override: ColumnRule | None) -> ColumnRule:
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
