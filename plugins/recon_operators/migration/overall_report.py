"""Overall summary: Source -> Target per cohort and prefix, every measure counted at every layer.

Measures come from include/config/reports/mini_recon_2.yaml (those with ``source`` and ``target``
sides). Per prefix, each (service, subset) is counted batch by batch (batches are disjoint MSISDN
blocks, so counts and totals add up) at the landing zone (migratable subscribers and their child
rows only), transformation, stage and target; ``source_target_difference`` and Match/Mismatch go
into ``recon_report.tbl_recon_report_overall_summary``. The cohort's rows are replaced in ONE
transaction, after every measure was taken. No Airflow imports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon_operators.engine.results import CheckResult
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.layer_measure import Counted, Layers, measure
from recon_operators.migration.mr2_reports import subset_name
from recon_operators.migration.report_config import LAYERS, MeasureSpec
from recon_operators.migration.report_sql import ReportScope, table, verdict
from recon_operators.sql_templates import render_sql
from recon_operators.store.db import transaction

TABLE = ("recon_report", "tbl_recon_report_overall_summary")


@dataclass(frozen=True)
class PrefixBatches:
    """One prefix of a cohort and its batches (the unit the overall summary reports on)."""

    prefix_id: str
    prefix: str
    batches: tuple[BatchRange, ...]


@dataclass(frozen=True)
class OverallRow:
    prefix_id: str
    prefix: str
    service: str
    subset: str
    counts: Mapping[str, int]  # layer -> count
    totals: Mapping[str, Decimal | None]  # layer -> total (None when the measure has none)

    @property
    def totals_equal(self) -> bool:
        return self.totals["source"] == self.totals["target"]

    @property
    def passed(self) -> bool:
        return self.counts["source"] == self.counts["target"] and self.totals_equal


def prefixes_from_scopes(scopes: Iterable[Mapping[str, Any]]) -> list[PrefixBatches]:
    """Group batch scope dicts (as the cohort DAG maps them) by prefix, in first-seen order."""
    grouped: dict[tuple[str, str], list[BatchRange]] = defaultdict(list)
    for scope in scopes:
        grouped[(str(scope["prefix_id"]), str(scope["prefix"]))].append(BatchRange.of_scope(scope))
    return [PrefixBatches(pid, prefix, tuple(batches)) for (pid, prefix), batches in grouped.items()]


def _add(total: dict[str | None, list[Any]], counted: Counted) -> None:
    for group, (count, value) in counted.items():
        slot = total.setdefault(group, [0, None])
        slot[0] += count
        if value is not None:
            slot[1] = (slot[1] or Decimal(0)) + value


def overall_rows(
    layers: Layers, measures: Sequence[MeasureSpec], prefix: PrefixBatches, *, cohort_id: str
) -> list[OverallRow]:
    rows = []
    for spec in measures:
        missing = [layer for layer in LAYERS if layer not in spec.sides]
        if missing:
            continue  # a Mini Recon 2-only measure: no source or target location configured
        per_layer: dict[str, dict[str | None, list[Any]]] = {layer: {} for layer in LAYERS}
        for batch in prefix.batches:
            for layer in LAYERS:
                _add(
                    per_layer[layer],
                    measure(
                        layers,
                        layer,
                        spec.sides[layer],
                        cohort_id=cohort_id,
                        batch=batch,
                        group_by=spec.group_by,
                        rule=spec.rule,
                    ),
                )
        groups = sorted(set().union(*per_layer.values()), key=lambda g: (g is None, g or ""))
        if not groups and spec.group_by is None:
            groups = [None]
        for group in groups:
            cells = {layer: per_layer[layer].get(group, [0, None]) for layer in LAYERS}
            totals = {layer: (cells[layer][1] or Decimal(0)) if spec.sides[layer].sum else None for layer in LAYERS}
            rows.append(
                OverallRow(
                    prefix.prefix_id,
                    prefix.prefix,
                    spec.service,
                    subset_name(spec, group),
                    {layer: cells[layer][0] for layer in LAYERS},
                    totals,
                )
            )
    return rows


def write_overall_summary(
    store_conn: Any,
    layers: Layers,
    measures: Sequence[MeasureSpec],
    *,
    run_id: str,
    env: str,
    cohort_id: str,
    prefixes: Sequence[PrefixBatches],
) -> list[OverallRow]:
    """Measure every prefix of the cohort, then replace the cohort's overall-summary rows at once."""
    scope = ReportScope(run_id, env, cohort_id)
    rows = [row for prefix in prefixes for row in overall_rows(layers, measures, prefix, cohort_id=cohort_id)]
    if not rows:
        raise ValueError("no measure has both a source and a target side; nothing to summarise")
    with transaction(store_conn) as cur:
        cur.execute(render_sql("reports/cohort_delete.sql", table=table(*TABLE)), scope.params())
        for row in rows:
            cur.execute(
                render_sql("recon_report/insert_overall_summary.sql"),
                {
                    **scope.params(),
                    "prefix_id": row.prefix_id,
                    "prefix": row.prefix,
                    "service": row.service,
                    "subset": row.subset,
                    "totals_equal": row.totals_equal,
                    **{f"{layer}_count": row.counts[layer] for layer in LAYERS},
                },
            )
    return rows


def overall_results(rows: Sequence[OverallRow]) -> list[CheckResult]:
    """Per prefix and subset: source (expected) vs target (actual), with every layer in details."""
    return [
        verdict(
            f"overall:{row.service}",
            "distinct_count",
            row.counts["source"],
            row.counts["target"],
            passed=row.passed,
            group=f"{row.prefix_id}/{row.subset}",
            details={
                "counts": dict(row.counts),
                "totals": {k: None if v is None else str(v) for k, v in row.totals.items()},
            },
        )
        for row in rows
    ]
