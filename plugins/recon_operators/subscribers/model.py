"""The subscriber record as both systems hold it, and the checks a row must pass to be loaded.

One record, three spellings: Cloud items use the reference's camelCase attribute names
(``planId``), Legacy columns are snake_case (``plan_id``), CSV headers are the attribute names.
``FIELDS`` is the single list of them; everything else (stores, export, audit) derives from it.

Values are canonical text in Python: timestamps ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, milliseconds),
dates ``YYYY-MM-DD``, absent optional fields ``None`` (never an empty string), so a record read
from either system compares equal to the same record read from the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from recon_operators.engine.masking import MASK, mask_email, mask_imsi, mask_msisdn

STATUSES = ("ACTIVE", "INACTIVE", "SUSPENDED", "DELETED")
DELETED = "DELETED"
UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_IMSI = re.compile(r"^[0-9]{15}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$")
_PLAN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$")


class RecordError(ValueError):
    """A value cannot be part of a subscriber record; the message names the field, never the value."""


@dataclass(frozen=True)
class Field:
    """One field: Cloud attribute (and CSV header), Legacy column, how a value is checked."""

    attribute: str
    column: str
    required: bool
    check: Callable[[str], str]  # canonical text, or RecordError naming what is wrong
    pii: bool = False


def _pattern(regex: re.Pattern[str], rule: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not regex.match(value):
            raise RecordError(rule)
        return value

    return check


def _text(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > limit:
            raise RecordError(f"longer than {limit} characters")
        if any(ord(c) < 32 for c in value):
            raise RecordError("holds control characters")
        return value

    return check


def _status(value: str) -> str:
    if value not in STATUSES:
        raise RecordError(f"must be one of {', '.join(STATUSES)}")
    return value


def canonical_date(value: str) -> str:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise RecordError("not a date YYYY-MM-DD") from None
    if len(value) != 10 or parsed.year < 1900 or parsed > datetime.now(UTC).date():
        raise RecordError("must be YYYY-MM-DD between 1900-01-01 and today")
    return parsed.isoformat()


def canonical_timestamp(value: str | datetime) -> str:
    """UTC with milliseconds and ``Z``; a naive value is UTC; finer than a millisecond is refused
    (it would be lost on one side and the systems would disagree about the record)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        if not _TIMESTAMP.match(value):
            raise RecordError("not an ISO 8601 datetime (YYYY-MM-DDTHH:MM:SS[.mmm][Z|+HH:MM])")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RecordError("not a valid datetime") from None
    if parsed.microsecond % 1000:
        raise RecordError("more precise than a millisecond")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="milliseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """A canonical timestamp back to a naive UTC ``datetime`` (what Legacy's DATETIME(3) holds)."""
    return datetime.fromisoformat(text.removesuffix("Z"))


FIELDS: tuple[Field, ...] = (
    Field("uid", "uid", True, _pattern(UID, "must be 1-64 letters, digits, _ . : - (starting with a letter or digit)")),
    Field("msisdn", "msisdn", True, _pattern(_E164, "not E.164 (+ then 8-15 digits, no leading 0)"), pii=True),
    Field("imsi", "imsi", True, _pattern(_IMSI, "must be exactly 15 digits"), pii=True),
    Field("status", "status", True, _status),
    Field("planId", "plan_id", False, _pattern(_PLAN, "must be 1-64 letters, digits, _ . -")),
    Field("email", "email", False, _pattern(_EMAIL, "not a valid e-mail address"), pii=True),
    Field("firstName", "first_name", False, _text(100), pii=True),
    Field("lastName", "last_name", False, _text(100), pii=True),
    Field("address", "address", False, _text(500), pii=True),
    Field("dateOfBirth", "date_of_birth", False, canonical_date, pii=True),
    Field("createdAt", "created_at", False, canonical_timestamp),
    Field("updatedAt", "updated_at", False, canonical_timestamp),
)
ATTRIBUTES = tuple(f.attribute for f in FIELDS)
COLUMNS = tuple(f.column for f in FIELDS)
COLUMN_OF = {f.attribute: f.column for f in FIELDS}
TIMESTAMPS = ("createdAt", "updatedAt")
CONTENT = tuple(a for a in ATTRIBUTES if a not in TIMESTAMPS)  # what a change is judged on

Record = dict[str, str | None]  # attribute -> canonical text or None


def validate(row: Mapping[str, Any]) -> tuple[Record | None, list[str]]:
    """A CSV row (header -> text) as a canonical record, or the reasons it cannot be one.

    Every field is checked, so the rejects file lists all of a row's problems at once. Reasons
    name the field and the rule, never the value (they go to logs and files outside the stores).
    """
    record: Record = {}
    reasons: list[str] = []
    for spec in FIELDS:
        raw = row.get(spec.attribute)
        text = raw.strip() if isinstance(raw, str) else raw
        if text is None or text == "":
            if spec.required:
                reasons.append(f"{spec.attribute}: required")
            record[spec.attribute] = None
            continue
        try:
            record[spec.attribute] = spec.check(str(text))
        except RecordError as exc:
            reasons.append(f"{spec.attribute}: {exc}")
    return (None, reasons) if reasons else (record, [])


def content_of(record: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What makes two versions of a subscriber the same subscriber data (timestamps aside)."""
    return None if record is None else tuple(record.get(a) for a in CONTENT)


def merged(incoming: Record, existing: Record | None, now: str) -> Record:
    """The record to hold after loading ``incoming`` over ``existing`` (either system's copy).

    Timestamps the file gives win. Otherwise ``createdAt`` is kept from the existing copy (or is
    the job's time for a new subscriber) and ``updatedAt`` moves to the job's time only when the
    data changed, so loading the same file again writes nothing.
    """
    record = dict(incoming)
    unchanged = existing is not None and content_of(existing) == content_of(incoming)
    if record.get("createdAt") is None:
        record["createdAt"] = (existing or {}).get("createdAt") or now
    if record.get("updatedAt") is None:
        record["updatedAt"] = (existing or {}).get("updatedAt") if unchanged else None
        record["updatedAt"] = record["updatedAt"] or now
    return record


def soft_deleted(existing: Record, now: str) -> Record:
    """``existing`` with status DELETED (unchanged when it already was)."""
    if existing.get("status") == DELETED:
        return dict(existing)
    return {**existing, "status": DELETED, "updatedAt": now}


# -- PII masking -----------------------------------------------------------------------------


def _mask_name(value: str) -> str:
    return f"{value[0]}***" if value else value


def _mask_date(value: str) -> str:
    return f"{value[:4]}-**-**"  # the birth year helps triage, the day identifies


_MASKS: dict[str, Callable[[str], str]] = {
    "msisdn": mask_msisdn,
    "imsi": mask_imsi,
    "email": mask_email,
    "firstName": _mask_name,
    "lastName": _mask_name,
    "address": lambda value: MASK,
    "dateOfBirth": _mask_date,
}
PII_ATTRIBUTES = tuple(f.attribute for f in FIELDS if f.pii)


def mask_field(attribute: str, value: Any) -> Any:
    """A PII field masked (MSISDN, IMSI and e-mail as the engine masks them everywhere else)."""
    if value is None or attribute not in _MASKS:
        return value
    return _MASKS[attribute](str(value))


def masked(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: mask_field(name, value) for name, value in record.items()}
