"""ETL stage report: per service table of the reference matrix, rows at Transform, Stage, Target.

The matrix (include/config/reports/etl_stage_matrix.yaml) says where each table lives per layer
in this deployment; tables without a copy here are reported as "not deployed" with no counts,
never faked. Counts are COUNT(*) pushed down to each store (Postgres, MariaDB, Mongo), scoped to
the cohort's batches and added up. The cohort's report rows and the matrix table
(``recon_report.etl_stage_table_matrix``) are rewritten in ONE transaction. No Airflow imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recon_operators.engine.results import CheckResult
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.layer_measure import Layers, measure
from recon_operators.migration.report_config import MatrixEntry
from recon_operators.migration.report_sql import ReportScope, table, verdict
from recon_operators.sql_templates import render_sql
from recon_operators.store.db import transaction

TABLE = ("recon_report", "tbl_recon_etl_stage_report")
HOPS = ("transform", "stage", "target")
DEPLOYED_PAIR = "transform>stage>target"
NOT_DEPLOYED = "not deployed"


@dataclass(frozen=True)
class EtlRow:
    entry: MatrixEntry
    counts: dict[str, int] | None  # None when the table is not deployed here

    @property
    def status(self) -> str | None:
        if self.counts is None:
            return None
        return "Match" if len(set(self.counts.values())) == 1 else "Mismatch"


def etl_rows(
    layers: Layers, matrix: Sequence[MatrixEntry], *, cohort_id: str, batches: Sequence[BatchRange]
) -> list[EtlRow]:
    rows = []
    for entry in matrix:
        if not entry.deployed:
            rows.append(EtlRow(entry, None))
            continue
        counts = {
            hop: sum(measure(layers, hop, entry.sides[hop], cohort_id=cohort_id, batch=b)[None][0] for b in batches)
            for hop in HOPS
        }
        rows.append(EtlRow(entry, counts))
    return rows


def _matrix_params(entry: MatrixEntry) -> dict[str, Any]:
    sides = entry.sides
    return {
        "service": entry.service,
        "table_name": entry.table,
        "transform_table": sides["transform"].relation if sides else None,
        "stage_store": sides["stage"].store if sides else None,
        "stage_table": sides["stage"].relation if sides else None,
        "target_table": sides["target"].relation if sides else None,
    }


def write_etl_stage_report(
    store_conn: Any,
    layers: Layers,
    matrix: Sequence[MatrixEntry],
    *,
    run_id: str,
    env: str,
    cohort_id: str,
    batches: Sequence[BatchRange],
) -> list[EtlRow]:
    """Count every deployed table over the cohort's batches, then replace the cohort's report rows."""
    if not batches:
        raise ValueError(f"cohort {cohort_id} has no batches to count")
    scope = ReportScope(run_id, env, cohort_id)
    rows = etl_rows(layers, matrix, cohort_id=cohort_id, batches=batches)
    with transaction(store_conn) as cur:
        cur.execute(render_sql("reports/cohort_delete.sql", table=table(*TABLE)), scope.params())
        for row in rows:
            counts = row.counts or {}
            cur.execute(render_sql("recon_report/upsert_table_matrix.sql"), _matrix_params(row.entry))
            cur.execute(
                render_sql("recon_report/insert_etl_stage_report.sql"),
                {
                    **scope.params(),
                    "service": row.entry.service,
                    "table_name": row.entry.table,
                    "layer_pair": DEPLOYED_PAIR if row.counts is not None else NOT_DEPLOYED,
                    **{f"{hop}_count": counts.get(hop) for hop in HOPS},
                },
            )
    return rows


def etl_results(rows: Sequence[EtlRow]) -> list[CheckResult]:
    """Deployed tables only: transform (expected) vs target (actual), every layer in details."""
    return [
        verdict(
            f"etl:{row.entry.service}.{row.entry.table}",
            "row_count",
            row.counts["transform"],
            row.counts["target"],
            passed=row.status == "Match",
            details={"counts": row.counts},
        )
        for row in rows
        if row.counts is not None
    ]
