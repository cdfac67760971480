"""Readable and JSON renderings of check results, shared by the CLI and the demo."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from recon_operators.engine.masking import scrub, scrub_values
from recon_operators.engine.results import CheckResult, Status


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)


def result_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "check": result.check_name,
        "kind": result.kind,
        "group": result.group,
        "status": result.status.value,
        "expected": result.expected,
        "actual": result.actual,
        "discrepancy": result.discrepancy,
        "tolerance": result.tolerance,
        "message": result.message,
        "source": result.source,
        "target": result.target,
        "details": result.details,
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def summary(results: list[CheckResult]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for result in results:
        counts[result.status.value] += 1
    return {
        "total": len(results),
        "matched": counts["Match"],
        "mismatched": counts["Mismatch"],
        "errors": counts["Error"],
    }


def render_json(suite: str, scope: dict[str, str], results: list[CheckResult]) -> str:
    payload = {
        "suite": suite,
        "scope": scope,
        "summary": summary(results),
        "results": [result_dict(r) for r in results],
    }
    return json.dumps(scrub_values(json.loads(json.dumps(payload, default=_json_default))), indent=2)


def render_table(results: Iterable[CheckResult], *, width: int = 40) -> str:
    """A plain-text table: check, group, status, expected, actual, discrepancy, message."""
    headers = ("check", "group", "status", "expected", "actual", "discrepancy", "message")
    rows = [
        (
            r.check_name,
            _cell(r.group),
            r.status.value,
            _cell(r.expected),
            _cell(r.actual),
            _cell(r.discrepancy),
            _cell(r.message),
        )
        for r in results
    ]
    rows = [tuple(c if len(c) <= width or i == 6 else c[: width - 1] + "…" for i, c in enumerate(row)) for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers[:-1])]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  message"]
    lines.append("  ".join("-" * w for w in widths) + "  -------")
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return scrub("\n".join(lines))
