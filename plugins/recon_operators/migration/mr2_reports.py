"""Mini Recon 2 batch reports: the transformation layer (Postgres) vs the stage (MariaDB or Mongo).

Which (service, subset) pairs are measured, and where, comes from
include/config/reports/mini_recon_2.yaml (``report_config.load_measures``). Each measure feeds one
of the eight ``mini_recon_2`` tables; a grouped measure (per status, plan, add-on...) gives one
subset per group value, named ``<subset>=<value>``. Both sides are measured before the store
transaction opens (a failed read changes nothing), then the batch's rows in all eight tables and
``tbl_recon_2_summary`` are replaced in ONE transaction. No Airflow imports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon_operators.engine.results import CheckResult
from recon_operators.migration.layer_measure import Counted, Layers, measure
from recon_operators.migration.report_config import MR2_REPORTS, MeasureSpec
from recon_operators.migration.report_sql import ReportScope, replace_scope, table, verdict
from recon_operators.sql_templates import render_sql
from recon_operators.store.db import transaction

SCHEMA = "mini_recon_2"
SUMMARY_TABLE = "tbl_recon_2_summary"
NULL_GROUP = "(null)"


@dataclass(frozen=True)
class SubsetRow:
    """One compared subset: upstream and downstream counts (and totals for balance reports)."""

    report: str
    service: str
    subset: str
    upstream_count: int
    downstream_count: int
    upstream_sum: Decimal | None = None
    downstream_sum: Decimal | None = None

    @property
    def passed(self) -> bool:
        return self.upstream_count == self.downstream_count and self.upstream_sum == self.downstream_sum


def subset_name(spec: MeasureSpec, group: str | None) -> str:
    if spec.group_by is None:
        return spec.subset
    return f"{spec.subset}={NULL_GROUP if group is None else group}"


def pair_rows(spec: MeasureSpec, upstream: Counted, downstream: Counted) -> list[SubsetRow]:
    """One row per group seen on either side; a group missing on one side counts 0 there."""
    groups = sorted(set(upstream) | set(downstream), key=lambda g: (g is None, g or ""))
    rows = []
    for group in groups:
        up_count, up_sum = upstream.get(group, (0, None))
        down_count, down_sum = downstream.get(group, (0, None))
        if spec.sides["transform"].sum is not None:
            up_sum, down_sum = up_sum or Decimal(0), down_sum or Decimal(0)
        rows.append(
            SubsetRow(spec.report, spec.service, subset_name(spec, group), up_count, down_count, up_sum, down_sum)
        )
    return rows


def measure_pair(
    layers: Layers, spec: MeasureSpec, upstream: str, downstream: str, *, cohort_id: str, batch: Any
) -> list[SubsetRow]:
    """Measure one spec on two layers of one batch and pair the groups."""
    kwargs = {"cohort_id": cohort_id, "batch": batch, "group_by": spec.group_by, "rule": spec.rule}
    return pair_rows(
        spec,
        measure(layers, upstream, spec.sides[upstream], **kwargs),
        measure(layers, downstream, spec.sides[downstream], **kwargs),
    )


def mr2_rows(layers: Layers, measures: Sequence[MeasureSpec], *, cohort_id: str, batch: Any) -> list[SubsetRow]:
    return [
        row
        for spec in measures
        for row in measure_pair(layers, spec, "transform", "stage", cohort_id=cohort_id, batch=batch)
    ]


def write_mr2_batch(
    store_conn: Any, layers: Layers, measures: Sequence[MeasureSpec], scope: ReportScope
) -> dict[str, Any]:
    """Measure one batch and replace its Mini Recon 2 rows (eight tables + summary) in one transaction.

    Returns ``{"rows": [SubsetRow...], "summary": {service: status}, "written": {table: n}}``.
    """
    batch = scope.batch()
    if not measures:
        raise ValueError("no Mini Recon 2 measures configured; nothing to reconcile")
    rows = mr2_rows(layers, measures, cohort_id=scope.cohort_id, batch=batch)
    per_service: dict[str, list[bool]] = defaultdict(list)
    written = {f"tbl_{name}": 0 for name in MR2_REPORTS}
    summary: dict[str, str] = {}
    with transaction(store_conn) as cur:
        for name in [*written, SUMMARY_TABLE]:
            replace_scope(cur, table(SCHEMA, name), scope)
        for row in rows:
            values = {
                **scope.params(),
                "service": row.service,
                "subset": row.subset,
                "transform_count": row.upstream_count,
                "stage_count": row.downstream_count,
                "transform_sum": row.upstream_sum,
                "stage_sum": row.downstream_sum,
            }
            if row.report == "pulsa_balance":
                cur.execute(render_sql("mini_recon_2/insert_pulsa_balance.sql"), values)
            else:
                cur.execute(
                    render_sql("mini_recon_2/insert_subset.sql", table=table(SCHEMA, f"tbl_{row.report}")), values
                )
            per_service[row.service].append(cur.fetchone()[0] == "Passed")
            written[f"tbl_{row.report}"] += 1
        for service, statuses in sorted(per_service.items()):
            cur.execute(
                render_sql("mini_recon_2/insert_service_summary.sql"),
                {
                    **scope.params(),
                    "service": service,
                    "total_subsets": len(statuses),
                    "failed_subsets": statuses.count(False),
                },
            )
            summary[service] = cur.fetchone()[0]
        written[SUMMARY_TABLE] = len(summary)
    return {"rows": rows, "summary": summary, "written": written}


def check_results(rows: Sequence[SubsetRow], upstream: str, downstream: str) -> list[CheckResult]:
    """The compared subsets as ledger results (expected: upstream, actual: downstream)."""
    out = []
    for row in rows:
        details = {"report": row.report, "service": row.service, "subset": row.subset}
        out.append(
            verdict(
                f"{row.report}:{row.service}",
                "distinct_count",
                row.upstream_count,
                row.downstream_count,
                passed=row.upstream_count == row.downstream_count,
                group=row.subset,
                source={"layer": upstream},
                target={"layer": downstream},
                details=details,
            )
        )
        if row.upstream_sum is not None:
            out.append(
                verdict(
                    f"{row.report}:{row.service}:sum",
                    "sum",
                    row.upstream_sum,
                    row.downstream_sum or 0,
                    passed=row.upstream_sum == row.downstream_sum,
                    group=row.subset,
                    source={"layer": upstream},
                    target={"layer": downstream},
                    details=details,
                )
            )
    return out
