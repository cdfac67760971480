"""Audit: Cloud vs Legacy per subscriber, with the engine's keyed row diff.

Cloud is the diff's source (the DynamoDB adapter: the table's items), Legacy its target
(``legacy_query()``: the ``subscribers`` table with its columns named as Cloud's attributes),
keyed by ``uid``; every field is compared in the pair's canonical form (an ISO string and a
``DATETIME(3)`` of the same instant are equal, to the millisecond). The result becomes:

* a sync summary: in sync, cloud only, legacy only, field conflicts, and conflicts by field;
* the mismatch list (one row per cloud-only or legacy-only subscriber and per differing field,
  PII masked) for S3;
* ledger results (``row_diff`` kind, suite ``subscriber_audit``) so a gate or alert acts on them.
"""

from __future__ import annotations

from typing import Any

from recon_operators.engine.rowdiff import DiffResult, DiffSpec, run_diff
from recon_operators.engine.rowdiff.compare import NULL_TEXT
from recon_operators.engine.scope import Scope
from recon_operators.paths import read_sql
from recon_operators.subscribers.model import PII_ATTRIBUTES, mask_field

AUDIT_SUITE = "subscriber_audit"
KINDS = {
    "changed": "CONFLICT",
    "missing_in_target": "CLOUD_ONLY",
    "extra_in_target": "LEGACY_ONLY",
    "duplicate_in_source": "DUPLICATE_IN_CLOUD",
    "duplicate_in_target": "DUPLICATE_IN_LEGACY",
}
MISMATCH_HEADER = ("kind", "uid", "field", "cloud_value", "legacy_value")


def audit_scope(env: str) -> Scope:
    """Where audit results live in the ledger: one scope per environment, replaced by each audit."""
    return Scope.from_mapping({"env": env, "stage": AUDIT_SUITE, "systems": "cloud_vs_legacy"})


def legacy_query() -> str:
    """The Legacy side's SELECT (a subquery of the diff): one statement, no trailing ';'."""
    return "\n".join(
        line for line in read_sql("subscribers/legacy_audit.sql").splitlines() if not line.lstrip().startswith("--")
    ).strip()


def run_audit(cloud: Any, legacy: Any, *, mismatch_limit: int) -> DiffResult:
    """Diff the Cloud side against the Legacy one (adapters); samples are masked here, before they
    leave (the engine masks MSISDN, IMSI and e-mail; names, address and birth date are PII too)."""
    result = run_diff(DiffSpec(key=("uid",), sample_limit=mismatch_limit, mask=False), cloud, legacy)
    for sample in result.samples:
        sample["columns"] = {column: _masked_pair(column, pair) for column, pair in sample.get("columns", {}).items()}
    return result


def _masked_pair(attribute: str, pair: str) -> str:
    """``cloud~legacy`` with each side masked as its field's PII rule says."""
    if attribute not in PII_ATTRIBUTES:
        return pair
    if pair.count("~") != 1:
        return "***~***"  # a '~' inside a value: the split would be a guess
    return "~".join(value if value == NULL_TEXT else str(mask_field(attribute, value)) for value in pair.split("~"))


def sync_summary(result: DiffResult, mismatch_limit: int) -> dict[str, Any]:
    in_sync = result.matched_rows - result.changed_rows
    summary = {
        "cloud_items": result.source_rows,
        "legacy_rows": result.target_rows,
        "in_sync": in_sync,
        "cloud_only": result.missing_in_target,
        "legacy_only": result.extra_in_target,
        "field_conflicts": result.changed_rows,
        "conflicts_by_field": dict(sorted(result.column_mismatches.items())),
        "duplicate_uids": result.duplicate_keys_source + result.duplicate_keys_target,
        "not_compared": dict(result.incomparable),  # fields whose types have no common form
        "seconds": round(result.seconds, 3),
    }
    summary["subscribers"] = (
        in_sync
        + summary["cloud_only"]
        + summary["legacy_only"]
        + summary["field_conflicts"]
        + summary["duplicate_uids"]
    )
    summary["mismatch_list_truncated"] = any(
        n > mismatch_limit for n in (result.changed_rows, result.missing_in_target, result.extra_in_target)
    )
    return summary


def mismatch_rows(result: DiffResult) -> list[tuple[str, str, str, str, str]]:
    """The mismatch list: kind, uid, field (Cloud's name), Cloud value, Legacy value (masked)."""
    rows = []
    for sample in result.samples:
        kind, uid = KINDS[sample["status"]], str(sample["key"]["uid"])
        if sample["status"] != "changed":
            rows.append((kind, uid, "", "", ""))
            continue
        for column, pair in sorted(sample["columns"].items()):
            cloud_value, _, legacy_value = pair.partition("~")
            rows.append((kind, uid, column, cloud_value, legacy_value))
    return sorted(rows, key=lambda r: (r[1], r[2], r[0]))
