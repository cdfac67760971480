"""Turn two sides' aggregates into verdicts: exact Decimals, tolerances, one result per group."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recon_operators.engine.results import CheckResult, Status
from recon_operators.engine.spec import CheckSpec

NUMERIC_DEFAULT_FOR_MISSING_GROUP = ("row_count", "sum", "distinct_count")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def compare_values(check: CheckSpec, expected: Any, actual: Any) -> tuple[Status, Decimal | int | None]:
    """Numbers: within tolerance. Anything else (hashes, canonical text): exactly equal."""
    if _is_number(expected) and _is_number(actual):
        discrepancy = actual - expected
        allowed = check.tolerance.allows(Decimal(expected), Decimal(actual))
        return (Status.MATCH if allowed else Status.MISMATCH), discrepancy
    if expected is None and actual is None:
        return Status.MATCH, None
    return (Status.MATCH if expected == actual else Status.MISMATCH), None


def group_label(key: tuple[str | None, ...]) -> str:
    return " | ".join("NULL" if part is None else part for part in key)


def build_results(
    check: CheckSpec,
    source_rows: dict[tuple, dict[str, Any]] | None,
    target_rows: dict[tuple, dict[str, Any]],
    *,
    base: dict[str, Any],
) -> list[CheckResult]:
    """Results for one check: one per group (or one when ungrouped).

    A group present on one side only is compared against 0 for counts and sums (a status that
    vanished entirely is a mismatch of its full count), against nothing for min/max/hash.
    ``source_rows`` is None for a rule checked against a constant (``expect``).
    """
    results = []
    if source_rows is None:
        expected_by_group = {key: check.expect for key in target_rows} or {(): check.expect}
    else:
        expected_by_group = {key: values.get(check.name) for key, values in source_rows.items()}
    actual_by_group = {key: values.get(check.name) for key, values in target_rows.items()}
    keys = sorted(set(expected_by_group) | set(actual_by_group), key=lambda k: tuple("" if p is None else p for p in k))
    zero = 0 if check.kind in ("row_count", "distinct_count") else Decimal(0)
    for key in keys:
        details = dict(base.get("details", {}))
        expected = expected_by_group.get(key)
        actual = actual_by_group.get(key)
        if check.group_by:
            if key not in expected_by_group:
                details["group_only_in"] = "target"
            elif key not in actual_by_group:
                details["group_only_in"] = "source"
            if check.kind in NUMERIC_DEFAULT_FOR_MISSING_GROUP:
                expected = zero if key not in expected_by_group else expected
                actual = zero if key not in actual_by_group else actual
        if check.kind == "rule" and check.expect is not None and _is_number(actual):
            actual = Decimal(actual)
        status, discrepancy = compare_values(check, expected, actual)
        results.append(
            CheckResult(
                check_name=check.name,
                kind=check.kind,
                status=status,
                expected=expected,
                actual=actual,
                discrepancy=discrepancy,
                tolerance=check.tolerance.as_dict() if _is_number(expected) or _is_number(actual) else None,
                source=base["source"],
                target=base["target"],
                group=group_label(key) if check.group_by else None,
                details=details,
                started_at=base["started_at"],
                finished_at=base["finished_at"],
            )
        )
    if check.group_by and not results:  # a grouped check over two empty sides: one result, not none
        results.append(
            CheckResult(
                check_name=check.name,
                kind=check.kind,
                status=Status.MATCH,
                expected=0,
                actual=0,
                discrepancy=0,
                source=base["source"],
                target=base["target"],
                details={**base.get("details", {}), "groups": 0},
                started_at=base["started_at"],
                finished_at=base["finished_at"],
            )
        )
    return results
