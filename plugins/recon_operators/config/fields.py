"""Field types every config file shares: ids, names, schedules, S3 names, positive numbers.

Each type carries the rule it enforces in words, so an error says what would have been right
(``'Bad_Bucket' is not allowed: an S3 bucket name (a-z, 0-9, . -; 3-63)``), and the generated
field reference (docs/config-reference.md) shows the same words.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import AfterValidator, BeforeValidator, Field

from recon_operators.engine.identifiers import IdentifierError, validate_identifier

SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly")


def matching(pattern: str, rule: str) -> Any:
    """A string type that must match ``pattern``; ``rule`` says the pattern in words."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"{value!r} is not allowed: {rule}")
        return value

    return Annotated[str, AfterValidator(check), Field(description=rule)]


def between(low: int, high: int) -> Any:
    """A whole number in ``low..high`` (a count of workers, retries, characters)."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"must be {low}..{high}, got {value}")
        return value

    return Annotated[int, AfterValidator(check), Field(description=f"a whole number {low}..{high}")]


def as_tuple(value: Any) -> Any:
    """A YAML list read as a tuple, so frozen models stay hashable."""
    return tuple(value) if isinstance(value, list) else value


def number_as_text(value: Any) -> Any:
    """An id written as a bare number (``7``) counts as the text ``'7'``."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _schedule(value: str) -> str:
    if value not in SCHEDULE_PRESETS and not (croniter.is_valid(value) and len(value.split()) == 5):
        raise ValueError(f"{value!r} must be a 5-field cron or one of {', '.join(SCHEDULE_PRESETS)}")
    return value


def _identifier(value: str) -> str:
    try:
        return validate_identifier(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None


def _iso_date(value: Any) -> Any:
    """YAML reads an unquoted date as a date and a quoted one as text: both are accepted."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be a date YYYY-MM-DD, got {value!r}") from None
    return value


def _decimal(value: Any, at_least: Decimal | None, rule: str) -> Decimal:
    """An exact number from YAML (``0.01`` or ``"0.01"``), never ``.inf``/``.nan``: those would
    make a tolerance pass everything (or nothing)."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise InvalidOperation
        number = Decimal(str(value))
        if not number.is_finite() or (at_least is not None and number < at_least):
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"must be {rule}, got {value!r}") from None
    return number


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be > 0, got {value}")
    return value


Text = Annotated[str, AfterValidator(_non_empty), Field(description="non-empty text")]
DagId = matching(r"^[A-Za-z0-9_.-]{1,250}$", "letters, digits, _ . - (max 250)")
ConnId = matching(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}$", "an Airflow connection id (letters, digits, _ . -)")
Bucket = matching(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "an S3 bucket name (a-z, 0-9, . -; 3-63)")
Schedule = Annotated[
    str, AfterValidator(_schedule), Field(description=f"a 5-field cron or one of {', '.join(SCHEDULE_PRESETS)}")
]
Identifier = Annotated[str, AfterValidator(_identifier), Field(description="a plain SQL identifier")]
IsoDate = Annotated[date, BeforeValidator(_iso_date), Field(description="a date YYYY-MM-DD")]
Number = Annotated[
    Decimal, BeforeValidator(lambda v: _decimal(v, None, "a finite number")), Field(description="a finite number")
]
NonNegative = Annotated[
    Decimal,
    BeforeValidator(lambda v: _decimal(v, Decimal(0), "a finite number >= 0")),
    Field(description="a finite number >= 0"),
]
Positive = Annotated[float, AfterValidator(_positive), Field(description="a number > 0")]
# The gate policies (operators.gate.POLICIES imports Airflow, so the names are kept here for config).
Policy = Literal["stop", "approve", "fail", "warn"]
SnsArn = matching(
    r"^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$",
    "an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>",
)
