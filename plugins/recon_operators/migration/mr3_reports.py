"""Mini Recon 3: the stage stores vs the target databases, per batch, then rolled up per prefix.

* Data prep (per batch): rows of every deployed service table of the ETL matrix
  (include/config/reports/etl_stage_matrix.yaml), stage copy (MariaDB, Mongo or Postgres) vs
  target, into ``mini_recon_3.tbl_data_prep``.
* BRM data prep (per batch): each landed BRM billing extract (include/config/reports/
  mini_recon_3.yaml; migratable subscribers' accounts only) vs the target table holding those
  accounts, counts and exact balance totals, into ``tbl_data_prep_brm``.
* Prefix summaries: one row per prefix in ``tbl_prefix_summary`` / ``tbl_prefix_summary_brm``
  with Match/Mismatch, the failed checks and a match percent like Mini Recon 1's; the formula and
  edge cases are documented in include/sql/mini_recon_3/prefix_summary.sql.

Every write measures first, then replaces its scope's rows in ONE store transaction. No Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon_operators.engine.results import CheckResult
from recon_operators.migration.layer_measure import Layers, measure
from recon_operators.migration.report_config import BrmSpec, MatrixEntry
from recon_operators.migration.report_sql import ReportScope, replace_scope, table, verdict
from recon_operators.sql_templates import fragment, render_sql
from recon_operators.store.db import transaction

SCHEMA = "mini_recon_3"
# (summary table, detail table, check name, upstream count, downstream count, totals differ?)
_SUMMARIES = {
    False: (
        "tbl_prefix_summary",
        "tbl_data_prep",
        "service || '.' || table_name",
        "stage_count",
        "target_count",
        "false",
    ),
    True: (
        "tbl_prefix_summary_brm",
        "tbl_data_prep_brm",
        "brm_file",
        "brm_count",
        "target_count",
        "sum(brm_balance_sum) <> sum(target_balance_sum)",
    ),
}


@dataclass(frozen=True)
class DataPrepRow:
    service: str
    table_name: str
    stage_store: str
    stage_count: int
    target_count: int

    @property
    def passed(self) -> bool:
        return self.stage_count == self.target_count


@dataclass(frozen=True)
class BrmRow:
    brm_file: str
    brm_count: int
    target_count: int
    brm_balance_sum: Decimal
    target_balance_sum: Decimal

    @property
    def passed(self) -> bool:
        return self.brm_count == self.target_count and self.brm_balance_sum == self.target_balance_sum


def _total(layers: Layers, layer: str, side: Any, scope: ReportScope) -> tuple[int, Decimal | None]:
    return measure(layers, layer, side, cohort_id=scope.cohort_id, batch=scope.batch())[None]


def write_data_prep(
    store_conn: Any, layers: Layers, matrix: Sequence[MatrixEntry], scope: ReportScope
) -> list[DataPrepRow]:
    """Count every deployed matrix table at stage and target for one batch; replace the batch's rows."""
    rows = []
    for entry in matrix:
        if entry.deployed:
            stage, target = entry.sides["stage"], entry.sides["target"]
            rows.append(
                DataPrepRow(
                    entry.service,
                    entry.table,
                    stage.store,
                    _total(layers, "stage", stage, scope)[0],
                    _total(layers, "target", target, scope)[0],
                )
            )
    if not rows:
        raise ValueError("the ETL matrix deploys no table; nothing to reconcile at Mini Recon 3")
    _replace_rows(store_conn, "tbl_data_prep", "insert_data_prep.sql", scope, rows)
    return rows


def write_data_prep_brm(
    store_conn: Any, layers: Layers, extracts: Sequence[BrmSpec], scope: ReportScope
) -> list[BrmRow]:
    """Landed BRM extracts vs the target for one batch; replace the batch's BRM rows."""
    rows = []
    for spec in extracts:
        brm_count, brm_sum = _total(layers, "source", spec.source, scope)
        target_count, target_sum = _total(layers, "target", spec.target, scope)
        rows.append(BrmRow(spec.file, brm_count, target_count, brm_sum or Decimal(0), target_sum or Decimal(0)))
    if not rows:
        raise ValueError("no BRM extract configured; nothing to reconcile")
    _replace_rows(store_conn, "tbl_data_prep_brm", "insert_data_prep_brm.sql", scope, rows)
    return rows


def _replace_rows(store_conn: Any, name: str, insert: str, scope: ReportScope, rows: Sequence[Any]) -> None:
    """Replace the batch's rows of one Mini Recon 3 table in one transaction (a rerun never doubles them)."""
    with transaction(store_conn) as cur:
        replace_scope(cur, table(SCHEMA, name), scope)
        for row in rows:
            cur.execute(render_sql(f"mini_recon_3/{insert}"), {**scope.params(), **row.__dict__})


def write_prefix_summary(store_conn: Any, scope: ReportScope, *, brm: bool = False) -> dict[str, Any]:
    """Replace one prefix's Mini Recon 3 summary row (data prep or BRM) from its batch rows."""
    scope.require_prefix()
    summary, detail, check, src, trgt, sums_differ = _SUMMARIES[brm]
    text = render_sql(
        "mini_recon_3/prefix_summary.sql",
        summary=table(SCHEMA, summary),
        detail=table(SCHEMA, detail),
        check=fragment(check),
        src=fragment(src),
        trgt=fragment(trgt),
        sums_differ=fragment(sums_differ),
    )
    params = {k: v for k, v in scope.params().items() if k in ("run_id", "env", "cohort_id", "prefix_id", "prefix")}
    with transaction(store_conn) as cur:
        cur.execute(text, params)
        names = [c[0] for c in cur.description]
        row = dict(zip(names, cur.fetchone()))
    return row


def data_prep_results(rows: Sequence[DataPrepRow]) -> list[CheckResult]:
    return [
        verdict(
            f"data_prep:{r.service}.{r.table_name}",
            "row_count",
            r.stage_count,
            r.target_count,
            passed=r.passed,
            source={"layer": "stage", "store": r.stage_store},
            target={"layer": "target"},
        )
        for r in rows
    ]


def brm_results(rows: Sequence[BrmRow]) -> list[CheckResult]:
    out = []
    for r in rows:
        out.append(
            verdict(
                f"data_prep_brm:{r.brm_file}",
                "row_count",
                r.brm_count,
                r.target_count,
                passed=r.brm_count == r.target_count,
                source={"layer": "source"},
                target={"layer": "target"},
            )
        )
        out.append(
            verdict(
                f"data_prep_brm:{r.brm_file}:balance",
                "sum",
                r.brm_balance_sum,
                r.target_balance_sum,
                passed=r.brm_balance_sum == r.target_balance_sum,
                source={"layer": "source"},
                target={"layer": "target"},
            )
        )
    return out


def summary_results(row: dict[str, Any], *, brm: bool) -> list[CheckResult]:
    """The prefix verdict as one ledger result (expected: no failed checks)."""
    name = "prefix_summary_brm" if brm else "prefix_summary"
    return [
        verdict(
            name,
            "rule",
            0,
            int(row["failed_checks"]),
            passed=row["status_match"] == "Match",
            details={
                "match_percent": str(row["match_percent"]),
                "total_checks": row["total_checks"],
                "failed_subsets": list(row["failed_subsets"]),
            },
        )
    ]
