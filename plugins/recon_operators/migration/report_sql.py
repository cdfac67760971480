"""What every report writer shares: its scope, its tables as identifiers for SQL templates
(``sql_templates.render_sql``), scope replacement, and the verdicts it hands to the results
ledger so the gates see them.

No Airflow imports. Kept apart so Mini Recon 2/3, the overall summary and the ETL stage report
do not each carry a copy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from recon_operators.engine.results import CheckResult, Status
from recon_operators.migration.landing import BatchRange
from recon_operators.sql_templates import Ident, ident, render_sql


@dataclass(frozen=True)
class ReportScope:
    """The slice one report run writes: a batch (all fields), a prefix (no batch) or a cohort."""

    run_id: str
    env: str
    cohort_id: str
    prefix_id: str | None = None
    prefix: str | None = None
    batch_id: str | None = None
    msisdn_start: str | None = None
    msisdn_end: str | None = None

    def __post_init__(self) -> None:
        for name in ("run_id", "env", "cohort_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string, got {getattr(self, name)!r}")
        for name in ("prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or None, got {value!r}")

    @classmethod
    def from_mapping(cls, run_id: str, values: dict[str, Any]) -> ReportScope:
        """From an operator's scope dict (params/conf); empty strings count as unset."""
        names = ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end")
        return cls(run_id, **{n: (str(values[n]) if values.get(n) not in (None, "") else None) for n in names})

    def params(self) -> dict[str, Any]:
        return asdict(self)

    def batch(self) -> BatchRange:
        """The batch's MSISDN block; a batch report without one is a caller bug, said plainly."""
        if not (self.prefix_id and self.prefix and self.batch_id and self.msisdn_start and self.msisdn_end):
            raise ValueError("a batch report needs prefix_id, prefix, batch_id, msisdn_start and msisdn_end")
        return BatchRange(self.batch_id, self.msisdn_start, self.msisdn_end)

    def require_prefix(self) -> None:
        if not (self.prefix_id and self.prefix):
            raise ValueError("a prefix report needs prefix_id and prefix")


def table(schema: str, name: str) -> Ident:
    return ident(schema, name)


def replace_scope(cur: Any, qualified: Ident, scope: ReportScope) -> None:
    """Delete the scope's previous rows of one report table (inside the caller's transaction)."""
    cur.execute(render_sql("reports/scope_delete.sql", table=qualified), scope.params())


def verdict(
    check_name: str,
    kind: str,
    expected: int | Decimal,
    actual: int | Decimal,
    *,
    passed: bool,
    group: str | None = None,
    source: dict[str, Any] | None = None,
    target: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """One report comparison as a ledger result; discrepancy = actual - expected, like the engine."""
    return CheckResult(
        check_name=check_name,
        kind=kind,
        status=Status.MATCH if passed else Status.MISMATCH,
        expected=expected,
        actual=actual,
        discrepancy=actual - expected,
        group=group,
        source=source or {},
        target=target or {},
        details=details or {},
    )
