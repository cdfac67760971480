"""Result objects the engine returns and the store records: plain data, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


class Status(str, enum.Enum):
    """A check's verdict. ``Error`` means the check could not be evaluated, never a pass."""

    MATCH = "Match"
    MISMATCH = "Mismatch"
    ERROR = "Error"


def utcnow() -> datetime:
    return datetime.now(UTC)


Value = int | Decimal | str | None


@dataclass
class CheckResult:
    """One check's outcome for one scope (and, for per-group checks, one group)."""

    check_name: str
    kind: str
    status: Status
    expected: Value = None
    actual: Value = None
    discrepancy: int | Decimal | None = None
    tolerance: dict[str, Any] | None = None
    source: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    group: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if not self.check_name:
            raise ValueError("a check result needs a check_name")
        self.status = Status(self.status)

    @property
    def passed(self) -> bool:
        return self.status is Status.MATCH
