"""When a parent scope's batches have all passed: the ledger sensor's condition, without Airflow.

The sensor (on a worker) and the trigger (in the triggerer) must decide identically, and the
decision is the part worth testing exhaustively, so it lives here as plain functions over result
rows: no Airflow, no database, nothing to mock.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PASSED = "passed"
FAILED = "failed"
WAITING = "waiting"

MATCH = "Match"
REQUIRE_MATCH = "match"
REQUIRE_PRESENT = "present"
REQUIREMENTS = (REQUIRE_MATCH, REQUIRE_PRESENT)
_NAMED_IN_MESSAGE = 5  # a gate message names at most this many batches / checks, then "+N more"
_DETAIL_LIMIT = 20  # failing batches, and checks per batch, kept in the event / XCom detail


def batch_of(row: Mapping[str, Any]) -> str | None:
    """The row's batch id: its ``batch_id`` column if read, else the ``batch_id=`` part of its key.

    Scope values cannot hold ``;`` or ``=`` (see ``Scope``), so splitting the key is exact.
    """
    if row.get("batch_id") not in (None, ""):
        return str(row["batch_id"])
    for part in str(row.get("scope_key") or "").split(";"):
        name, _, value = part.partition("=")
        if name == "batch_id" and value:
            return value
    return None


def normalise_batches(value: Any) -> list[str]:
    """Expected batch ids from whatever templating produced, as unique strings in given order.

    Accepts a list/tuple/set, a JSON or Python-literal list (``["1","2"]``, ``['1', '2']``: what
    Jinja renders for a list param), a comma/space separated string (``"1, 2 3"``), a single id,
    or nothing (``None``, ``""``, ``"None"``, ``"[]"``) meaning "no fixed list".
    """
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "None", "null"):
            return []
        if text[0] in "[(":
            parsed: Any = None
            for parse in (json.loads, ast.literal_eval):
                try:
                    parsed = parse(text)
                    break
                except (ValueError, SyntaxError):
                    continue
            else:
                raise ValueError(f"expected_batches {value!r} is neither a JSON nor a Python list")
            return normalise_batches(list(parsed))
        items: Iterable[Any] = [p for p in re.split(r"[,\s]+", text) if p]
    elif isinstance(value, (int, float)):
        items = [value]
    else:
        items = value
    out: list[str] = []
    for item in items:
        text = str(item).strip().strip("'\"")
        if text and text not in out:
            out.append(text)
    return out


def _natural(batch: str) -> tuple[int, int, str]:
    """Sort ``2`` before ``10`` (numeric batch ids), then everything else alphabetically."""
    return (0, int(batch), "") if batch.isdigit() else (1, 0, batch)


def _ids(batches: Iterable[str]) -> list[str]:
    return sorted(set(batches), key=_natural)


def _named(items: Sequence[str], sep: str = ", ") -> str:
    head = sep.join(items[:_NAMED_IN_MESSAGE])
    more = len(items) - _NAMED_IN_MESSAGE
    return head + (f" +{more} more" if more > 0 else "")


def _failed_check(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a person needs to see of a failing check; plain strings so it travels as JSON."""
    return {
        "check": str(row.get("check_name")),
        "group": None if row.get("group_key") is None else str(row["group_key"]),
        "status": str(row.get("status")),
        "expected": None if row.get("expected") is None else str(row["expected"]),
        "actual": None if row.get("actual") is None else str(row["actual"]),
        "message": None if row.get("message") is None else str(row["message"]),
    }


def _check_label(check: Mapping[str, Any]) -> str:
    name = check["check"] + (f"[{check['group']}]" if check["group"] else "")
    if check["status"] == MATCH or (check["expected"] is None and check["actual"] is None):
        return f"{name} {check['status']}"
    return f"{name} {check['status']} (expected {check['expected']}, actual {check['actual']})"


def this_run_only(
    rows: Iterable[Mapping[str, Any]], fresh_batches: Sequence[str], run_prefix: str
) -> list[Mapping[str, Any]]:
    """Drop the rows of ``fresh_batches`` that an earlier DAG run wrote.

    A rerun of some batches must not be judged on their previous results, still in the ledger
    until the rerun replaces them; rows of other batches count whoever wrote them. Ledger run ids
    of task instances start ``<dag_id>/<run_id>/`` (``operators.check.airflow_run_id``).
    """
    fresh = set(normalise_batches(fresh_batches))
    return [r for r in rows if batch_of(r) not in fresh or str(r.get("run_id") or "").startswith(run_prefix)]


def evaluate(
    rows: Iterable[Mapping[str, Any]], expected_batches: Sequence[str] | None, require: str = REQUIRE_MATCH
) -> tuple[str, dict[str, Any]]:
    """Decide a parent scope from its children's current result rows (one suite).

    With ``require="match"`` (a gate waiting for its batches):
    - ``failed`` as soon as any row is not Match (Mismatch or Error), in any batch, expected or
      not, or in the parent scope itself: a mismatch never passes silently, and failing fast
      beats waiting for the remaining batches of a prefix that can no longer pass.
    - ``passed`` when every expected batch has results and all are Match; with no expected list,
      when at least one batch has results (and all are Match).
    - ``waiting`` otherwise, naming the batches still missing.

    With ``require="present"`` (a prefix summary that must see every batch, matched or not, so
    it can record the mismatches itself): ``passed`` once every expected batch has results,
    whatever their status; ``detail["failed_count"]`` and the message still name the failures.

    Returns ``(state, detail)``; ``detail["message"]`` is one line for logs and task failures,
    the rest is JSON-safe (strings, ints, lists) so it can ride a TriggerEvent and XCom.
    """
    if require not in REQUIREMENTS:
        raise ValueError(f"require {require!r} must be one of {', '.join(REQUIREMENTS)}")
    expected = normalise_batches(expected_batches)
    by_batch: dict[str, list[Mapping[str, Any]]] = {}
    failing: dict[tuple[str, str], list[dict[str, Any]]] = {}  # ("batch", id) | ("scope", key)
    total = 0
    for row in rows:
        total += 1
        batch = batch_of(row)
        if batch is not None:
            by_batch.setdefault(batch, []).append(row)
        if row.get("status") != MATCH:
            # Rows without a batch (the parent scope's own) cannot complete a batch, but can fail.
            place = ("batch", batch) if batch is not None else ("scope", str(row.get("scope_key")))
            failing.setdefault(place, []).append(_failed_check(row))

    present = _ids(by_batch)
    missing = [b for b in expected if b not in by_batch]
    unexpected = _ids(b for b in present if expected and b not in expected)
    detail: dict[str, Any] = {
        "batches": present,
        "expected": expected,
        "missing": missing,
        "unexpected": unexpected,
        "checks": total,
    }

    if failing:
        where = sorted(failing, key=lambda w: (w[0], _natural(w[1])))
        # Capped: the detail rides the trigger event and XCom, both stored in Airflow's database.
        detail["failed_count"] = len(where)
        detail["failed"] = [
            {
                "batch_id": v if k == "batch" else None,
                "scope_key": None if k == "batch" else v,
                "failed_checks": len(failing[(k, v)]),
                "checks": failing[(k, v)][:_DETAIL_LIMIT],
            }
            for k, v in where[:_DETAIL_LIMIT]
        ]
        parts = [f"{k} {v}: " + _named([_check_label(c) for c in failing[(k, v)]]) for k, v in where]
        detail["message"] = f"{len(where)} batch(es) failed: {_named(parts, '; ')}"
        if require == REQUIRE_MATCH:
            return FAILED, detail

    if missing or not present:
        if expected:
            detail["message"] = f"waiting for {len(missing)} of {len(expected)} batch(es): {_named(missing)}"
        else:
            detail["message"] = "waiting for the first batch's results"
        return WAITING, detail

    extra = f" (+{len(unexpected)} unexpected: {_named(unexpected)})" if unexpected else ""
    if failing:  # only reachable with require="present"
        detail["message"] = f"all {len(present)} batch(es) reported; {detail['message']}{extra}"
    else:
        detail["message"] = f"all {len(present)} batch(es) passed, {total} check result(s) Match{extra}"
    return PASSED, detail
