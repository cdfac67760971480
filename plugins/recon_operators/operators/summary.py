"""Compact, XCom-sized summaries of a verdict (the full detail stays in the ledger)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recon_operators.engine.masking import scrub
from recon_operators.engine.scope import Scope
from recon_operators.store.ledger import Verdict

MAX_FAILED_IN_SUMMARY = 20


def _plain(value: Any) -> Any:
    """XCom-ready and safe to show: the failed checks' texts (messages, group keys, min/max
    values) can hold subscriber numbers and emails, and XComs, gate decisions and alerts are
    read far from the ledger."""
    if isinstance(value, Decimal):
        return str(value)
    return scrub(value) if isinstance(value, str) else value


def compact_summary(verdict: Verdict, scope: Scope, suite: str | None) -> dict[str, Any]:
    """The verdict in a few fields; the failed checks' values masked (the ledger keeps the detail)."""
    failed = [{k: _plain(v) for k, v in check.items()} for check in verdict.failed_checks[:MAX_FAILED_IN_SUMMARY]]
    return {
        "suite": suite,
        "scope": scope.as_dict(),
        "scope_key": scope.key,
        "status": verdict.status,
        "total": verdict.total,
        "matched": verdict.matched,
        "mismatched": verdict.mismatched,
        "errors": verdict.errored,
        "failed_checks": failed,
        "failed_checks_omitted": max(0, len(verdict.failed_checks) - MAX_FAILED_IN_SUMMARY),
    }
