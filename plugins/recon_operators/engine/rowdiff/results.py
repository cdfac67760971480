"""A row diff as ledger results: one ``CheckResult`` per count, so gates judge it like any check.

Names (``kind`` ``row_diff``): ``row_count`` (expected source rows, actual target rows),
``missing_in_target``, ``extra_in_target``, ``changed_rows``, ``duplicate_keys_source``,
``duplicate_keys_target`` (expected 0 each) and ``column_mismatch`` per compared column
(``group`` = the column; an Error result for a column whose types cannot be compared). Samples
(masked) and the canonical form of every column ride in ``changed_rows``' details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from recon_operators.engine.results import CheckResult, Status, utcnow
from recon_operators.engine.rowdiff.model import DiffResult

KIND = "row_diff"
# Each count and the status its sample rows carry.
COUNTS = {
    "missing_in_target": "missing_in_target",
    "extra_in_target": "extra_in_target",
    "changed_rows": "changed",
    "duplicate_keys_source": "duplicate_in_source",
    "duplicate_keys_target": "duplicate_in_target",
}


def diff_check_results(result: DiffResult, started_at: datetime) -> list[CheckResult]:
    def made(
        name: str, expected: int, actual: int, *, group: str | None = None, details: dict[str, Any] | None = None
    ) -> CheckResult:
        return CheckResult(
            check_name=name,
            kind=KIND,
            status=Status.MATCH if expected == actual else Status.MISMATCH,
            expected=expected,
            actual=actual,
            discrepancy=actual - expected,
            source=result.source,
            target=result.target,
            group=group,
            details=details or {},
            started_at=started_at,
            finished_at=utcnow(),
        )

    results = [
        made(
            "row_count",
            result.source_rows,
            result.target_rows,
            details={
                "key": result.key,
                "columns": result.columns,
                "matched_rows": result.matched_rows,
                "seconds": round(result.seconds, 3),
            },
        )
    ]
    for name, status in COUNTS.items():
        details = (
            {"column_mismatches": result.column_mismatches, "forms": result.forms} if name == "changed_rows" else {}
        )
        samples = [s for s in result.samples if s["status"] == status]
        if samples:
            details["samples"] = samples
        results.append(made(name, 0, getattr(result, name), details=details))
    results += [made("column_mismatch", 0, result.column_mismatches.get(c, 0), group=c) for c in result.columns]
    for column, reason in result.incomparable.items():  # a pair of types with no common form
        results.append(
            CheckResult(
                check_name="column_mismatch",
                kind=KIND,
                status=Status.ERROR,
                group=column,
                message=reason,
                source=result.source,
                target=result.target,
                started_at=started_at,
                finished_at=utcnow(),
            )
        )
    return results


def diff_error_result(
    message: str, source: dict[str, Any], target: dict[str, Any], started_at: datetime
) -> CheckResult:
    """The diff could not run: an Error result, never a pass."""
    return CheckResult(
        check_name="row_diff",
        kind=KIND,
        status=Status.ERROR,
        message=message,
        source=source,
        target=target,
        started_at=started_at,
        finished_at=utcnow(),
    )
