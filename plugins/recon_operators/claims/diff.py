"""The day's metrics come from the keyed row diff engine, run over the two stage tables.

This module only translates the claims config into the engine's ``DiffSpec`` and the engine's
result into the metrics rows; counting, normalisation and masking are the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recon_operators.claims.stage import StageTable
from recon_operators.engine.adapters.postgres import PostgresAdapter
from recon_operators.engine.rowdiff import DiffResult, DiffSpec, run_diff
from recon_operators.engine.rowdiff.options import parse_tolerance, rules_from

# Engine sample statuses -> the OLD/NEW vocabulary of metrics.mismatch_detail_sample.
SAMPLE_KINDS = {
    "changed": "changed",
    "missing_in_target": "missing_in_new",
    "extra_in_target": "extra_in_new",
    "duplicate_in_source": "duplicate_in_old",
    "duplicate_in_target": "duplicate_in_new",
}
KEY_SEPARATOR = "|"


def build_spec(
    key_columns: tuple[str, ...],
    columns: tuple[str, ...] | None,
    exclude: tuple[str, ...],
    rules: dict[str, str],
    tolerances: dict[str, str],
    sample_limit: int,
) -> DiffSpec:
    """The engine's spec; raises the engine's ``DiffError`` for a bad rule or tolerance text."""
    return DiffSpec(
        key=key_columns,
        columns=columns,
        exclude=exclude,
        rules=rules_from(rules),
        tolerances={c: parse_tolerance(t) for c, t in tolerances.items()},
        sample_limit=sample_limit,
        mask=True,
    )


def diff_stage_tables(conn: Any, spec: DiffSpec, old: StageTable, new: StageTable) -> DiffResult:
    """OLD is the engine's source, NEW its target; both tables are read over ``conn`` in turn."""
    from recon_operators.engine.spec import SideSpec

    return run_diff(
        spec,
        PostgresAdapter(conn, SideSpec(table=old.dotted), label=f"OLD {old.dotted}"),
        PostgresAdapter(conn, SideSpec(table=new.dotted), label=f"NEW {new.dotted}"),
    )


@dataclass(frozen=True)
class Metrics:
    """What one reconciled day writes: summary counts, per-column counts, sample rows."""

    summary: dict[str, Any]
    by_column: list[tuple[str, int]]
    samples: list[tuple[str, str, dict[str, Any]]]  # (key_text, mismatch_type, payload)


def metrics_from(result: DiffResult) -> Metrics:
    """Every compared column gets a count (0 included: a reader sees what was compared)."""
    summary = {
        "key_columns": list(result.key),
        "old_rows": result.source_rows,
        "new_rows": result.target_rows,
        "matched_keys": result.matched_rows,
        "missing_in_new": result.missing_in_target,
        "extra_in_new": result.extra_in_target,
        "changed_rows": result.changed_rows,
        "duplicate_keys_old": result.duplicate_keys_source,
        "duplicate_keys_new": result.duplicate_keys_target,
    }
    by_column = [(c, int(result.column_mismatches.get(c, 0))) for c in result.columns]
    samples = []
    for sample in result.samples:
        key_text = KEY_SEPARATOR.join("NULL" if v is None else str(v) for v in sample["key"].values())
        payload = dict(sample.get("columns") or {})
        if "rows" in sample:
            payload = {"rows": sample["rows"]}
        samples.append((key_text, SAMPLE_KINDS[sample["status"]], payload))
    return Metrics(summary, by_column, samples)
