"""Operators of the batch load DAG: plan the chunks, load a chunk, MERGE, reconcile.

Thin over ``recon_operators.batchload`` (no Airflow there): each resolves its connections
through hooks when it runs, calls the pure logic, and turns bad input into one-line failures.
The job config is re-read from its YAML file when a task runs, so the task and the DAG agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.masking import scrub
from recon_operators.errors import one_line

BATCH_RUN_ID = "{{ params.run_id or run_id }}"
SOURCE_XCOM_KEY = "source"


def _fail(what: str, exc: BaseException) -> AirflowFailException:
    """Bad config, source or run id: retrying cannot help, so fail at once with one masked line."""
    return AirflowFailException(scrub(f"{what}: {one_line(exc)}"))


class _BatchJobOperator(BaseOperator):
    """What every batch load task shares: its job config and the batch run id."""

    template_fields: Sequence[str] = ("batch_run_id",)

    def __init__(self, *, job_file: str, batch_run_id: str = BATCH_RUN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_file = job_file
        self.batch_run_id = batch_run_id

    def job(self) -> Any:
        from recon_operators.batchload.audit import batch_scope
        from recon_operators.config.batch_jobs import load_batch_job

        try:
            job = load_batch_job(self.job_file)
            batch_scope(job.env, job.job, self.batch_run_id)  # the run id must be a valid scope value
        except ValueError as exc:
            raise _fail("batch job config", exc) from None
        return job

    def filesystem(self, job: Any) -> Any:
        if not job.source_path.startswith("s3://"):
            return None
        from recon_operators.hooks.databases import s3_filesystem

        return s3_filesystem(job.connections.aws)

    @staticmethod
    def target(job: Any) -> Any:
        from recon_operators.hooks.databases import postgres_connection

        return closing(postgres_connection(job.connections.target))


class BatchPlanOperator(_BatchJobOperator):
    """Count the source, take its control totals, split it into worker chunks, prepare the tables.

    Planning a run again (the whole DAG run cleared, or the ``run_id`` param of a failed run)
    clears that run's staging rows first; a single worker retried alone replaces only its own.

    Returns the chunks (the workers are mapped over them); the source profile goes to XCom
    ``source`` for the reconciliation.
    """

    def execute(self, context: Any) -> list[dict[str, Any]]:
        from recon_operators.batchload.source import BatchSourceError, profile
        from recon_operators.batchload.staging import clear_run, ensure_tables

        job = self.job()
        try:
            source, chunks = profile(job.layout, job.source_path, chunks=job.workers, filesystem=self.filesystem(job))
        except BatchSourceError as exc:
            raise _fail(f"batch job {job.job}", exc) from None
        with self.target(job) as conn:
            ensure_tables(conn, job.tables, job.layout)
            cleared = clear_run(conn, job.tables, self.batch_run_id)
        self.log.info(
            "batch %s run %s: %d records (%d valid, %d rejected) in %d chunks; %d rows of an earlier attempt cleared",
            job.job,
            self.batch_run_id,
            source.records,
            source.valid,
            source.rejected,
            len(chunks),
            cleared,
        )
        context["ti"].xcom_push(key=SOURCE_XCOM_KEY, value=source.as_dict())
        return [c.as_dict() for c in chunks]


class BatchWorkerOperator(_BatchJobOperator):
    """One worker: parse and validate its chunk, replace its staging rows for the run, report counts."""

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk = chunk

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.batchload.layout import RecordError
        from recon_operators.batchload.source import BatchSourceError, Chunk, read_chunk
        from recon_operators.batchload.worker import load_chunk

        job = self.job()
        chunk = Chunk.from_dict(dict(self.chunk))
        try:
            positions = job.layout.positions(chunk.header)
            lines = read_chunk(job.layout, job.source_path, chunk, filesystem=self.filesystem(job))
            with self.target(job) as conn:
                metrics = load_chunk(conn, job.tables, job.layout, self.batch_run_id, chunk.worker_id, lines, positions)
        except (RecordError, BatchSourceError) as exc:
            raise _fail(f"batch job {job.job} worker {chunk.worker_id}", exc) from None
        self.log.info(
            "worker %s: read %d, processed %d, written %d, rejected %d",
            chunk.worker_id,
            metrics.records_read,
            metrics.records_processed,
            metrics.records_written,
            metrics.records_rejected,
        )
        for reason in metrics.reject_reasons:
            self.log.warning("worker %s rejected %s", chunk.worker_id, scrub(reason))
        return metrics.as_dict()


class BatchMergeOperator(_BatchJobOperator):
    """MERGE the run's staging rows into the final table, stamping ``last_run_id``."""

    def execute(self, context: Any) -> int:
        from recon_operators.batchload.staging import merge_final

        job = self.job()
        with self.target(job) as conn:
            merged = merge_final(conn, job.tables, job.layout, self.batch_run_id)
        self.log.info(
            "batch %s run %s: MERGE upserted %d rows into %s", job.job, self.batch_run_id, merged, job.tables.final_name
        )
        return merged


class BatchReconcileOperator(_BatchJobOperator):
    """Reconcile every level, record audit rows, worker metrics and ledger results; fail on a mismatch.

    A failed check fails the task without retries (the data will not change by retrying) with a
    one-line message naming the check, expected, actual and discrepancy; the DAG's failure
    callbacks send the alert with the failed checks (XCom ``recon_summary``). Success returns
    the run's report (success rate, totals, per-worker counts).
    """

    template_fields: Sequence[str] = ("batch_run_id", "source", "worker_metrics")

    def __init__(self, *, source: Any, worker_metrics: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.worker_metrics = worker_metrics

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.batchload.audit import batch_scope, record_audit, record_ledger, report_line, run_report
        from recon_operators.batchload.reconcile import Reconciliation, failure_message, reconcile
        from recon_operators.batchload.worker import WorkerMetrics
        from recon_operators.hooks.databases import postgres_connection
        from recon_operators.hooks.results_store import ResultsStoreHook
        from recon_operators.notifiers.alerts import SUMMARY_XCOM_KEY

        job = self.job()
        workers = sorted(
            (WorkerMetrics.from_dict(dict(m)) for m in self.worker_metrics or ()), key=lambda w: w.worker_id
        )
        recon = Reconciliation(
            run_id=self.batch_run_id,
            layout=job.layout,
            tables=job.tables,
            source=dict(self.source),
            workers=workers,
            amount_tolerance=job.amount_tolerance,
            target_label=job.connections.target,
        )
        results = reconcile(recon, lambda: postgres_connection(job.connections.target))
        report = run_report(job.job, self.batch_run_id, recon.source, workers, results)
        hook = ResultsStoreHook(job.connections.store)
        with closing(hook.get_conn()) as conn:
            record_audit(conn, job.job, self.batch_run_id, results, workers, report)
        with hook.get_store() as store:
            report["ledger_run_id"] = record_ledger(store, job.env, job.job, self.batch_run_id, results)
        context["ti"].xcom_push(
            key=SUMMARY_XCOM_KEY,
            value={
                "scope": batch_scope(job.env, job.job, self.batch_run_id).as_dict(),
                "stage": "batch_load",
                "policy": "fail",
                "verdict_status": "Match" if report["status"] == "Passed" else "Mismatch",
                "failed_checks": report["failed_checks"],
            },
        )
        if report["status"] != "Passed":
            message = scrub(failure_message(job.job, self.batch_run_id, results))
            self.log.error("%s", message)
            raise AirflowFailException(message)
        self.log.info("%s", report_line(report))
        return report
