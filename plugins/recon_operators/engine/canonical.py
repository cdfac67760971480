"""One canonical form per column pair, so equal data compares equal on every engine pair.

``resolve`` picks the form from both sides' logical types (and a declared rule, which wins);
each side then renders that form in its own engine (``dialects``), or here in Python for Mongo
documents. The forms, as text:

* integer: ``-12``; decimal: at the pair's larger declared scale (``4.280``), or, when a side's
  scale is not declared (CSV, Mongo, unconstrained numeric), without trailing zeros (``4.28``);
  never rounded unless a rule's ``scale`` says so.
* float: the shortest text that round-trips the double (``0.1``, ``1e+16``; ``0.0`` for -0.0).
* boolean: ``true``/``false`` whatever the storage (``t``/``f``, ``1``/``0``, TINYINT(1), BIT(1)).
* timestamp: ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in UTC, the fraction kept to its last non-zero
  digit, so any two precisions compare without losing a microsecond; date ``YYYY-MM-DD``;
  time ``HH:MM:SS[.ffffff]``.
* uuid: lower case; json: compact, keys sorted, numbers by value (``1.0`` = ``1``); binary: hex.

A pair that has no common form (JSON against an integer) is ``Incomparable``: reported once per
column, never as every row changed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from recon_operators.engine.logical_types import (
    BINARY,
    BOOLEAN,
    BOOLEAN_WORDS,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    NUMERIC_KINDS,
    TEMPORAL_KINDS,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    LogicalType,
)
from recon_operators.engine.normalise import ColumnRule, NormaliseError, tzinfo_for
from recon_operators.engine.spec import Tolerance

# Forms the engines cannot all spell in SQL: rendered to text by the engine, finished in DuckDB.
FINISHED_IN_DUCKDB = (FLOAT, JSON)
_RULE_FORMS = {
    "text": TEXT,
    "decimal": DECIMAL,
    "integer": INTEGER,
    "float": FLOAT,
    "boolean": BOOLEAN,
    "timestamp": TIMESTAMP,
    "date": DATE,
    "time": TIME,
    "uuid": UUID,
    "json": JSON,
    "binary": BINARY,
}


@dataclass(frozen=True)
class Form:
    """The canonical form of a column pair. ``scale``: a decimal's fixed scale (None: trailing
    zeros dropped); ``rounds``: a rule's scale, rounded half away from zero on every engine."""

    kind: str
    scale: int | None = None
    rounds: bool = False
    sum_scale: int | None = None  # decimals of the declared side, for exact sums in DuckDB

    def __str__(self) -> str:
        if self.kind == DECIMAL and self.scale is not None:
            return f"decimal scale {self.scale}{' rounded' if self.rounds else ''}"
        if self.kind == TIMESTAMP:
            return "timestamp UTC"
        return self.kind


@dataclass(frozen=True)
class Side:
    """One side of a column pair: its physical name, declared/inferred type and rule."""

    physical: str
    type: LogicalType
    rule: ColumnRule = field(default_factory=ColumnRule)
    deferred: bool = False  # staged as the file's raw text; DuckDB renders the form when texts differ

    def describe(self, form: Form) -> str:
        rule = self.rule.describe()
        return f"{self.type} as {form}" + ("" if rule == "as-is" else f", rule {rule}")


@dataclass(frozen=True)
class ColumnPlan:
    """One compared (or key) column: both sides, the form they render, the tolerance."""

    name: str
    source: Side
    target: Side
    form: Form
    is_key: bool = False
    tolerance: Tolerance | None = None
    incomparable: str | None = None

    def side(self, name: str) -> Side:
        return self.source if name == "source" else self.target

    @property
    def finished(self) -> bool:
        """True when DuckDB finishes the form from a side's staged text (floats, JSON, raw CSV text)."""
        return self.form.kind in FINISHED_IN_DUCKDB or self.source.deferred or self.target.deferred

    def describe(self) -> dict[str, str]:
        return {
            "compared_as": str(self.form),
            "source": self.source.describe(self.form),
            "target": self.target.describe(self.form),
        }


class Incomparable(ValueError):
    """Two declared types with no common form (json vs integer)."""


def _pair_kind(a: LogicalType, b: LogicalType) -> str:
    kinds = {a.kind, b.kind}
    if len(kinds) == 1:
        return TIMESTAMP if a.kind == TIMESTAMPTZ else a.kind
    if TEXT in kinds:
        text_side, other = (a, b) if a.kind == TEXT else (b, a)
        if other.inferred and not text_side.inferred and other.kind in (*NUMERIC_KINDS, BOOLEAN):
            return TEXT  # declared text wins over numbers guessed from values (an MSISDN is a code)
        return TIMESTAMP if other.kind == TIMESTAMPTZ else other.kind
    if kinds <= set(NUMERIC_KINDS):
        return FLOAT if FLOAT in kinds else DECIMAL
    if kinds == {BOOLEAN, INTEGER}:
        return BOOLEAN
    if kinds <= set(TEMPORAL_KINDS):
        return TIMESTAMP
    raise Incomparable(f"{a} (source) vs {b} (target) have no common form")


def _scale(logical: LogicalType) -> int | None:
    if logical.inferred:
        return None
    if logical.kind == INTEGER:
        return 0
    if logical.kind == DECIMAL:
        return logical.scale
    return None


def resolve(source: LogicalType, target: LogicalType, rule: ColumnRule | None = None) -> Form:
    """The pair's form; a rule's type overrides what the types say. Raises ``Incomparable``."""
    rule = rule or ColumnRule()
    declared = rule.effective_type
    kind = _RULE_FORMS[declared] if declared else _pair_kind(source, target)
    if kind == DECIMAL and rule.scale is not None:
        return Form(DECIMAL, scale=rule.scale, rounds=True)
    if kind in (DECIMAL, INTEGER):
        scales = [_scale(source), _scale(target)]
        known = None if any(s is None for s in scales) else max(s for s in scales if s is not None)
        declared = [s for s in scales if s is not None]
        if kind == INTEGER:
            return Form(INTEGER, sum_scale=0)
        return Form(DECIMAL, scale=known, sum_scale=max(declared) if declared else None)
    return Form(kind)


# -- Python rendering (Mongo documents, fingerprints of Python-side readers) ----------------------
def decimal_text(number: Decimal, form: Form) -> str:
    if form.scale is not None:
        quantum = Decimal(1).scaleb(-form.scale)
        number = number.quantize(quantum, rounding=ROUND_HALF_UP) if form.rounds else number.quantize(quantum)
        text = f"{number:f}"
    else:
        text = f"{number.normalize():f}"
    return "0" if text.lstrip("-").strip("0.") == "" and text.startswith("-") else text


def float_text(number: float) -> str:
    return "0.0" if number == 0 else repr(float(number))


def fraction(microseconds: int) -> str:
    return f".{microseconds:06d}".rstrip("0") if microseconds else ""


def timestamp_text(value: datetime) -> str:
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}{fraction(value.microsecond)}"
    )


def _json_number(text: str) -> Any:
    number = Decimal(text)
    if number == number.to_integral_value() and abs(number) < 10**18:
        return int(number)
    return float(text)


def canonical_json(text: str) -> str:
    """Compact JSON, keys sorted, numbers by value (1.0 = 1 = 1e0). Raises ValueError."""
    document = json.loads(text, parse_float=_json_number, parse_constant=float)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _bson_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp_text(value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)
    to_decimal = getattr(value, "to_decimal", None)
    return float(to_decimal()) if to_decimal else str(value)


_SPACES = re.compile(r"^ +| +$")


def _to_utc(value: datetime, rule: ColumnRule) -> datetime:
    if value.tzinfo is None:
        if not rule.timezone:
            return value
        value = value.replace(tzinfo=tzinfo_for(rule.timezone))
    return value.astimezone(UTC).replace(tzinfo=None)


def python_text(value: Any, form: Form, rule: ColumnRule | None = None) -> str | None:
    """The canonical text of one decoded value (the Python twin of ``dialects``' SQL). A value
    that does not parse as the pair's form stays as it is (it differs); under a rule that
    declares the type it raises ValueError instead, as the SQL engines' casts do."""
    rule = rule or ColumnRule()
    if value is None:
        return None
    to_decimal = getattr(value, "to_decimal", None)  # BSON Decimal128
    if to_decimal is not None:
        value = to_decimal()
    kind = form.kind
    if kind == TEXT:
        text = value if isinstance(value, str) else _natural_text(value)
        if rule.trim:
            text = _SPACES.sub("", text)
        if rule.case == "upper":
            text = text.upper()
        elif rule.case == "lower":
            text = text.lower()
        return None if rule.empty_as_null and text == "" else text
    if isinstance(value, str):
        value = value.strip(" ")
        if value == "":
            return None
    try:
        return _typed_text(value, form, rule)
    except (ValueError, TypeError, ArithmeticError, OverflowError):
        if rule.effective_type:  # a declared rule that cannot read a value is an error (never quoting it)
            raise NormaliseError(f"a {type(value).__name__} value does not fit {form}") from None
        return value if isinstance(value, str) else _natural_text(value)  # a value that does not parse differs


def rule_text(value: Any, rule: ColumnRule | None = None) -> str | None:
    """The canonical text of a value under a rule alone (no pair: the rule's type decides, else
    text), as the batch loads hash their records in Python and in Postgres alike."""
    from recon_operators.engine.logical_types import text

    return python_text(value, resolve(text(), text(), rule), rule)


def _natural_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value, Form(DECIMAL))
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, datetime):
        return timestamp_text(_to_utc(value, ColumnRule()))
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (dict, list)):
        return canonical_json(json.dumps(value, default=_bson_default))
    return str(value)


def _typed_text(value: Any, form: Form, rule: ColumnRule) -> str:
    kind = form.kind
    if kind in (INTEGER, DECIMAL):
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        number = (
            Decimal(repr(value))
            if isinstance(value, float)
            else Decimal(value if isinstance(value, str) else str(value))
        )
        if not number.is_finite():
            raise InvalidOperation
        if kind == INTEGER:
            if number != number.to_integral_value():
                raise ValueError("not an integer")
            return str(int(number))
        return decimal_text(number, form)
    if kind == FLOAT:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a number")
        return float_text(float(value))
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return {0: "false", 1: "true"}.get(value, str(value))
        word = str(value).lower()
        if word in BOOLEAN_WORDS:
            return "true" if BOOLEAN_WORDS[word] else "false"
        return {"0": "false", "1": "true"}[word]
    if kind in (TIMESTAMP, DATE):
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise TypeError("not a timestamp")
        value = _to_utc(value, rule)
        return value.date().isoformat() if kind == DATE else timestamp_text(value)
    if kind == TIME:
        if isinstance(value, timedelta):
            value = (datetime.min + value).time()
        if isinstance(value, str):
            value = time.fromisoformat(value)
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}{fraction(value.microsecond)}"
    if kind == UUID:
        import uuid

        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).lower()
    if kind == JSON:
        if isinstance(value, str):
            return canonical_json(value)
        return canonical_json(json.dumps(value, default=_bson_default))
    if kind == BINARY:
        if isinstance(value, str):
            return value.encode("utf-8").hex()
        return bytes(value).hex()
    raise TypeError(f"unsupported form {kind}")


def register_duckdb(connection: Any) -> None:
    """The canonical-form functions on a DuckDB connection: ``recon_json`` (an Arrow UDF: neither
    Postgres, MariaDB nor DuckDB can print JSON with sorted keys in SQL), ``recon_float`` and
    ``recon_decimal`` (include/sql/engine/duckdb_macros.sql)."""
    import pyarrow as pa

    def canonical_batch(values: Any) -> Any:
        out = []
        for text in values.to_pylist():
            try:
                out.append(None if text is None else canonical_json(text))
            except ValueError:
                out.append(text)  # not JSON: compared as it is, so it differs from any document
        return pa.array(out, pa.string())

    from recon_operators.paths import read_sql

    connection.create_function("recon_json", canonical_batch, ["VARCHAR"], "VARCHAR", type="arrow", side_effects=False)
    connection.execute(read_sql("engine/duckdb_macros.sql"))


def finish_sql(expr: str, form: Form) -> str:
    """DuckDB's finishing expression for a transported text value (identity for most forms)."""
    if form.kind == JSON:
        return f"recon_json({expr})"
    if form.kind == FLOAT:
        return f"recon_float({expr})"
    return expr
