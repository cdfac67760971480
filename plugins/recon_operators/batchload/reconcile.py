"""Reconcile every level of a batch load with the engine's check kinds and comparison.

    source file --count--> workers' read --(read - rejected)--> staging (total, per worker)
    staging --count--> final (rows stamped with this run)
    source amount total --sum, Decimal tolerance--> staging amount total
    source fingerprint of the hash fields --hash--> staging fingerprint

The staging and final sides are aggregated inside Postgres by the engine's Postgres adapter (the
same SQL, canonical forms and row hash as any suite); the source side comes from the planner's
single pass over the file and the workers' counts. Verdicts are the engine's ``CheckResult``s,
so the ledger, gates, CLI and alerts read them like any other check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recon_operators.batchload.layout import Layout
from recon_operators.batchload.staging import Tables
from recon_operators.batchload.worker import WorkerMetrics
from recon_operators.engine.adapters.base import AggregateRequest, AggregateRows, Measure, SourceError
from recon_operators.engine.adapters.postgres import PostgresAdapter
from recon_operators.engine.canonical import Side, resolve
from recon_operators.engine.compare import build_results
from recon_operators.engine.results import CheckResult, Status, utcnow
from recon_operators.engine.spec import CheckSpec, SideSpec, Tolerance

SOURCE_VS_READ = "source_vs_workers_read"
WORKERS_VS_STAGING = "workers_vs_staging_count"
BY_WORKER = "workers_vs_staging_by_worker"
STAGING_VS_FINAL = "staging_vs_final_count"
AMOUNT = "source_vs_staging_amount"
HASH = "source_vs_staging_hash"
WORKER_GROUP = "worker_id"


@dataclass(frozen=True)
class Reconciliation:
    """What to reconcile: one run of one job, its source profile and its workers' counts."""

    run_id: str
    layout: Layout
    tables: Tables
    source: dict[str, Any]  # SourceProfile.as_dict()
    workers: Sequence[WorkerMetrics]
    amount_tolerance: Decimal = Decimal("0.01")
    target_label: str = "target"

    def checks(self) -> list[CheckSpec]:
        checks = [
            CheckSpec(SOURCE_VS_READ, "row_count"),
            CheckSpec(WORKERS_VS_STAGING, "row_count"),
            CheckSpec(BY_WORKER, "row_count", group_by=(WORKER_GROUP,)),
            CheckSpec(STAGING_VS_FINAL, "row_count"),
        ]
        if self.layout.amount_field:
            checks.append(
                CheckSpec(
                    AMOUNT, "sum", column=self.layout.amount_field, tolerance=Tolerance(abs=self.amount_tolerance)
                )
            )
        if self.layout.hash_fields:
            checks.append(CheckSpec(HASH, "hash", columns=self.layout.hash_fields))
        return checks


# The sides' filters are written in the suite filter language (``:name`` binds a scope value, as
# in a suite's YAML), not as include/sql files: the engine binds them like any suite's filter.
STAGING_SCOPE = "run_id = :run_id"  # staging rows of one run
FINAL_SCOPE = "last_run_id = :run_id"  # final rows stamped by one run


def _aggregate(
    connect: Callable[[], Any],
    side: SideSpec,
    request: AggregateRequest,
    label: str,
    rules: dict[str, Any] | None = None,
) -> AggregateRows:
    """One request on a fresh connection; ``rules``: the layout's rules for the columns it reads,
    which set their forms over the staging table's declared types (the file side's fingerprint
    was computed under the same rules)."""
    adapter = PostgresAdapter(connect(), side, label=f"postgres {label} {side.table}")
    try:
        if rules is not None:
            types = adapter.columns()
            names = {c for m in request.measures for c in (m.column, *m.columns) if c}
            columns = {}
            for name in names:
                rule = rules.get(name)
                logical = types.get(name)
                if logical is None:
                    raise SourceError(f"{adapter.label}: no column {name}")
                form = resolve(logical, logical, rule)
                columns[name] = (Side(name, logical, rule) if rule else Side(name, logical), form)
            request = AggregateRequest(request.measures, request.group_by, columns, request.params)
        return adapter.aggregate(request)
    finally:
        adapter.close()


def _target_sides(recon: Reconciliation, connect: Callable[[], Any]) -> dict[str, AggregateRows]:
    """Staging totals, staging per worker and the final count, each one query inside Postgres."""
    layout, params = recon.layout, {"run_id": recon.run_id}
    rules = layout.rules
    staging = SideSpec(connection=recon.target_label, table=recon.tables.staging_name, filter=STAGING_SCOPE)
    final = SideSpec(connection=recon.target_label, table=recon.tables.final_name, filter=FINAL_SCOPE)
    measures = [Measure(WORKERS_VS_STAGING, "count")]
    if layout.amount_field:
        measures.append(Measure(AMOUNT, "sum", column=layout.amount_field))
    if layout.hash_fields:
        measures.append(Measure(HASH, "hash", columns=layout.hash_fields))
    totals = _aggregate(connect, staging, AggregateRequest(tuple(measures), params=params), recon.target_label, rules)
    by_worker = _aggregate(
        connect,
        staging,
        AggregateRequest((Measure(BY_WORKER, "count"),), group_by=(WORKER_GROUP,), params=params),
        recon.target_label,
    )
    final_rows = _aggregate(
        connect, final, AggregateRequest((Measure(STAGING_VS_FINAL, "count"),), params=params), recon.target_label
    )
    return {"staging": totals, "by_worker": by_worker, "final": final_rows}


def _pairs(recon: Reconciliation, sides: dict[str, AggregateRows]) -> dict[str, tuple[AggregateRows, AggregateRows]]:
    """(expected side, actual side) per check, in the engine's ``{group key: {check: value}}`` shape."""
    workers = recon.workers
    staged = sides["staging"][()]
    return {
        SOURCE_VS_READ: (
            {(): {SOURCE_VS_READ: int(recon.source["records"])}},
            {(): {SOURCE_VS_READ: sum(w.records_read for w in workers)}},
        ),
        WORKERS_VS_STAGING: (
            {(): {WORKERS_VS_STAGING: sum(w.records_read - w.records_rejected for w in workers)}},
            {(): {WORKERS_VS_STAGING: staged[WORKERS_VS_STAGING]}},
        ),
        BY_WORKER: (
            {(w.worker_id,): {BY_WORKER: w.records_read - w.records_rejected} for w in workers},
            sides["by_worker"],
        ),
        STAGING_VS_FINAL: ({(): {STAGING_VS_FINAL: staged[WORKERS_VS_STAGING]}}, sides["final"]),
        AMOUNT: ({(): {AMOUNT: Decimal(recon.source["amount"])}}, {(): {AMOUNT: staged.get(AMOUNT)}}),
        HASH: ({(): {HASH: recon.source["hash"]}}, {(): {HASH: staged.get(HASH)}}),
    }


_SIDES = {
    SOURCE_VS_READ: ("source file", "workers"),
    WORKERS_VS_STAGING: ("workers", "staging"),
    BY_WORKER: ("workers", "staging"),
    STAGING_VS_FINAL: ("staging", "final"),
    AMOUNT: ("source file", "staging"),
    HASH: ("source file", "staging"),
}


def _describe(recon: Reconciliation, level: str) -> dict[str, Any]:
    where = {
        "source file": recon.source.get("path"),
        "workers": f"{len(recon.workers)} workers",
        "staging": recon.tables.staging_name,
        "final": recon.tables.final_name,
    }[level]
    return {"level": level, "relation": where, "run_id": recon.run_id}


def reconcile(recon: Reconciliation, connect: Callable[[], Any]) -> list[CheckResult]:
    """Every check's verdict (one per worker for the per-worker check). ``connect`` opens a new
    DB-API connection to the target database; a side that cannot be read makes every check Error."""
    started = utcnow()
    checks = recon.checks()
    try:
        sides = _target_sides(recon, connect)
    except SourceError as exc:
        return [
            CheckResult(check_name=c.name, kind=c.kind, status=Status.ERROR, message=str(exc), started_at=started)
            for c in checks
        ]
    pairs = _pairs(recon, sides)
    results: list[CheckResult] = []
    finished = utcnow()
    for check in checks:
        expected, actual = pairs[check.name]
        source_level, target_level = _SIDES[check.name]
        base = {
            "source": _describe(recon, source_level),
            "target": _describe(recon, target_level),
            "started_at": started,
            "finished_at": finished,
        }
        for result in build_results(check, expected, actual, base=base):
            if not result.passed:
                result.message = mismatch_line(result)
            results.append(result)
    return results


def mismatch_line(result: CheckResult) -> str:
    """One line naming the check (and worker), expected, actual and discrepancy."""
    group = f"[{WORKER_GROUP}={result.group}]" if result.group else ""
    if result.status is Status.ERROR:
        return f"{result.check_name}{group} error: {result.message}"
    discrepancy = result.discrepancy if result.discrepancy is not None else "differs"
    return f"{result.check_name}{group} expected {result.expected} actual {result.actual} discrepancy {discrepancy}"


def failure_message(job: str, run_id: str, results: Sequence[CheckResult]) -> str:
    """The task's one-line failure: the first failed checks with their numbers."""
    failed = [r for r in results if not r.passed]
    shown = "; ".join(mismatch_line(r) for r in failed[:3])
    more = f"; +{len(failed) - 3} more" if len(failed) > 3 else ""
    return f"batch load {job} run {run_id} failed reconciliation: {shown}{more}"
