"""Rules and tolerances written as short text, as the CLI and DAG config give them.

Rule: comma-separated items: a type (``text``, ``decimal``, ``integer``, ``float``, ``boolean``,
``timestamp``, ``date``, ``time``, ``uuid``, ``json``, ``binary``: the form to compare in), flags (``trim``, ``upper``, ``lower``, ``empty_as_null``) and ``scale:N``,
``tz:ZONE`` (the zone naive timestamps were written in). E.g. ``decimal,scale:2`` or
``timestamp,tz:+07:00``. Tolerance: an absolute number, a percentage (relative), or both:
``0.01``, ``0.5%``, ``0.01,0.5%``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from recon_operators.engine.normalise import COLUMN_TYPES, ColumnRule, NormaliseError
from recon_operators.engine.rowdiff.model import DiffError
from recon_operators.engine.spec import Tolerance

_FLAGS = {
    "trim": ("trim", True),
    "upper": ("case", "upper"),
    "lower": ("case", "lower"),
    "empty_as_null": ("empty_as_null", True),
}


def parse_rule(text: str) -> ColumnRule:
    fields: dict[str, Any] = {}
    for item in (part.strip() for part in text.split(",")):
        name, _, value = item.partition(":")
        if item in COLUMN_TYPES:
            fields["type"] = item
        elif item in _FLAGS:
            key, flag = _FLAGS[item]
            fields[key] = flag
        elif name == "scale" and value.isdigit():
            fields["scale"] = int(value)
        elif name in ("tz", "timezone") and value:
            fields["timezone"] = value
        else:
            raise DiffError(
                f"rule item {item!r} is not a type ({', '.join(COLUMN_TYPES)}), "
                "trim, upper, lower, empty_as_null, scale:N or tz:ZONE"
            )
    try:
        return ColumnRule(**fields)
    except NormaliseError as exc:
        raise DiffError(f"rule {text!r}: {exc}") from None


def parse_tolerance(text: str) -> Tolerance:
    absolute, relative = Decimal(0), Decimal(0)
    try:
        for item in (part.strip() for part in text.split(",")):
            if item.endswith("%"):
                relative = Decimal(item[:-1]) / 100
            else:
                absolute = Decimal(item)
    except InvalidOperation:
        raise DiffError(f"tolerance {text!r} is not a number or a percentage (0.01, 0.5%, 0.01,0.5%)") from None
    if not (absolute.is_finite() and relative.is_finite()):
        raise DiffError(f"tolerance {text!r} must be a finite number (inf or nan would pass every value)")
    if absolute < 0 or relative < 0:
        raise DiffError(f"tolerance {text!r} cannot be negative")
    return Tolerance(abs=absolute, rel=relative)


def column_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """``COL=VALUE`` items into a mapping (one clear error for a malformed one)."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise DiffError(f"{what} takes COLUMN=VALUE, not {item!r}")
        out[column.strip()] = value.strip()
    return out


def rules_from(raw: Mapping[str, Any] | None) -> dict[str, ColumnRule]:
    """Rules given as text (``"decimal,scale:2"``) or as ``ColumnRule`` field mappings."""
    rules: dict[str, ColumnRule] = {}
    for column, value in (raw or {}).items():
        if isinstance(value, ColumnRule):
            rules[column] = value
        elif isinstance(value, str):
            rules[column] = parse_rule(value)
        elif isinstance(value, Mapping):
            try:
                rules[column] = ColumnRule(**value)
            except (TypeError, NormaliseError) as exc:
                raise DiffError(f"rule for {column}: {exc}") from None
        else:
            raise DiffError(f"rule for {column} must be text or a mapping, not {type(value).__name__}")
    return rules


def split_names(values: Iterable[str] | None) -> tuple[str, ...]:
    """``["a,b", "c"]`` -> ``("a", "b", "c")``: repeatable, comma-separated options."""
    return tuple(n.strip() for value in values or () for n in value.split(",") if n.strip())
