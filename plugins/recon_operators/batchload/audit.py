"""A batch run's record in the results store: audit rows, worker metrics, ledger results, report.

``recon.recon_audit`` gets one row per check (per worker for the per-worker check) plus one
``run_summary`` row with the success rate; ``recon.batch_worker_metrics`` one row per worker.
A rerun of the run replaces both in one transaction. The same verdicts go to the generic
ledger (``recon.check_result``) under the scope ``env/job/batch_id=<run>/stage=batch_load`` so
gates, sensors and ``recon`` CLI see them like any suite's.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from recon_operators.batchload.reconcile import STAGING_VS_FINAL
from recon_operators.batchload.worker import WorkerMetrics
from recon_operators.engine.results import CheckResult, Status, utcnow
from recon_operators.engine.scope import Scope
from recon_operators.paths import read_sql
from recon_operators.store.db import transaction
from recon_operators.store.ledger import ResultsStore

STAGE = "batch_load"
PROCESS_NAME = "batch_load_recon"
SUMMARY_CHECK = "run_summary"


def batch_scope(env: str, job: str, run_id: str) -> Scope:
    """The ledger scope of one batch run of one job."""
    return Scope.from_mapping({"env": env, "job": job, "batch_id": run_id, "stage": STAGE})


def _number(value: Any) -> Decimal | None:
    return Decimal(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def audit_row(run_id: str, job: str, result: CheckResult) -> dict[str, Any]:
    tolerance = (result.tolerance or {}).get("abs")
    return {
        "run_id": run_id,
        "job_name": job,
        "check_name": result.check_name,
        "check_kind": result.kind,
        "worker_id": result.group,
        "expected_value": _number(result.expected),
        "actual_value": _number(result.actual),
        "expected_text": _text(result.expected),
        "actual_text": _text(result.actual),
        "passed": "Y" if result.passed else "N",
        "discrepancy": _number(result.discrepancy),
        "tolerance": Decimal(tolerance) if tolerance is not None else None,
        "message": result.message,
        "check_ts": result.finished_at,
    }


def run_report(
    job: str, run_id: str, source: dict[str, Any], workers: Sequence[WorkerMetrics], results: Sequence[CheckResult]
) -> dict[str, Any]:
    """The run's report: totals, per-worker counts, checks passed and the record success rate."""
    totals = {
        key: sum(getattr(w, key) for w in workers)
        for key in ("records_read", "records_processed", "records_written", "records_rejected")
    }
    records = int(source["records"])
    # Loaded means in the final table under this run; what workers say they processed is the fallback
    # when the final side could not be read.
    final = next((r.actual for r in results if r.check_name == STAGING_VS_FINAL and isinstance(r.actual, int)), None)
    loaded = totals["records_processed"] if final is None else final
    rate = Decimal(100) if records == 0 else (Decimal(loaded) * 100 / records).quantize(Decimal("0.01"))
    passed = sum(1 for r in results if r.passed)
    return {
        "job": job,
        "run_id": run_id,
        "status": "Passed" if passed == len(results) else "Failed",
        "source_records": records,
        "records_loaded": loaded,
        "totals": totals,
        "success_rate_pct": str(rate),
        "checks_passed": passed,
        "checks_total": len(results),
        "workers": [{k: v for k, v in w.as_dict().items() if k != "reject_reasons"} for w in workers],
        "failed_checks": [
            {
                "check_name": r.check_name,
                "group_key": r.group,
                "expected": str(r.expected),
                "actual": str(r.actual),
                "discrepancy": str(r.discrepancy),
                "status": r.status.value,
                "message": r.message,
            }
            for r in results
            if not r.passed
        ],
    }


def report_line(report: dict[str, Any]) -> str:
    totals = report["totals"]
    return (
        f"batch load {report['job']} run {report['run_id']} {report['status']}: success rate "
        f"{report['success_rate_pct']}% ({report['records_loaded']} of {report['source_records']} records "
        f"loaded, {totals['records_rejected']} rejected, {len(report['workers'])} workers); "
        f"{report['checks_passed']}/{report['checks_total']} checks passed"
    )


def summary_result(report: dict[str, Any]) -> CheckResult:
    """The run's own audit row: source records vs records in the final table, with the success rate."""
    records, loaded = report["source_records"], report["records_loaded"]
    return CheckResult(
        check_name=SUMMARY_CHECK,
        kind="report",
        status=Status.MATCH if report["status"] == "Passed" else Status.MISMATCH,
        expected=records,
        actual=loaded,
        discrepancy=loaded - records,
        message=report_line(report),
        finished_at=utcnow(),
    )


def record_audit(
    conn: Any,
    job: str,
    run_id: str,
    results: Sequence[CheckResult],
    workers: Sequence[WorkerMetrics],
    report: dict[str, Any],
) -> int:
    """Replace the run's audit rows and worker metrics in one transaction; returns audit rows written."""
    rows = [audit_row(run_id, job, r) for r in (*results, summary_result(report))]
    with transaction(conn) as cur:
        cur.execute(read_sql("batch_load/delete_audit.sql"), {"run_id": run_id, "job_name": job})
        cur.executemany(
            read_sql("batch_load/insert_worker_metrics.sql"),
            [
                {"run_id": run_id, "job_name": job, **{k: v for k, v in w.as_dict().items() if k != "reject_reasons"}}
                for w in workers
            ],
        )
        cur.executemany(read_sql("batch_load/insert_audit.sql"), rows)
    return len(rows)


def record_ledger(store: ResultsStore, env: str, job: str, run_id: str, results: Sequence[CheckResult]) -> str:
    """The verdicts in the generic ledger (replacing this run's previous ones); returns the ledger run id."""
    with store.run(batch_scope(env, job, run_id), job, process_name=PROCESS_NAME, entity_name=job) as run:
        run.record(results)
        failed = [r for r in results if not r.passed]
        if failed:  # a load whose checks do not all pass is a failed load, mismatch included
            run.fail(failed[0].message or failed[0].check_name)
    return run.run_id
