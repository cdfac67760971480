"""One DAG per batch job in include/config/batch_jobs: plan -> workers[chunk] -> MERGE -> reconcile.

    plan_chunks         count the source file, take its control totals, split it into byte ranges
    load_chunk[w01..]   one mapped task per chunk: parse, validate, replace its staging rows
    merge_final         MERGE the run's staging rows into the final table (last_run_id)
    reconcile           every level's checks -> recon_audit, batch_worker_metrics, check_result;
                        a failed check fails the run (no retry) and the failure alert goes out

The batch run id is the Airflow run id, or the ``run_id`` param to rerun a batch run: its
staging rows, audit rows and ledger results are replaced and the MERGE leaves the final table
as one clean run would. Parsing reads only the YAML: no database, no S3, not the source file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param

from recon_operators.config.batch_jobs import BatchJobConfig
from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.retries import retry_args
from recon_operators.operators.batch_load import (
    SOURCE_XCOM_KEY,
    BatchMergeOperator,
    BatchPlanOperator,
    BatchReconcileOperator,
    BatchWorkerOperator,
)


def build_batch_load_dag(job: BatchJobConfig, drill: Mapping[str, Any] | None = None) -> DAG:
    """The job's DAG. ``drill`` (tests, drills: ``demo.load_operators.BATCH_DRILL``) swaps in worker
    and MERGE operators that wrap the real ones and adds the run params they read."""
    job_file = str(job.path)
    drill = drill or {}
    worker_operator = drill.get("worker_operator", BatchWorkerOperator)
    merge_operator = drill.get("merge_operator", BatchMergeOperator)
    with DAG(
        dag_id=job.dag_id,
        description=job.description or f"Batch load {job.job}, reconciled source -> workers -> staging -> final",
        schedule=job.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=list(job.tags),
        params={
            "run_id": Param("", type="string", description="batch run id to rerun (empty: this Airflow run's id)"),
            **drill.get("params", {}),
        },
        default_args={
            "owner": job.owner,
            **retry_args(retries=job.retries),  # parallel workers: jittered
            "on_failure_callback": failure_callbacks(
                {
                    "slack_conn_id": job.alerts.slack_conn_id,
                    "sns_topic_arn": job.alerts.sns_topic_arn,
                    "aws_conn_id": job.connections.aws,
                }
            ),
        },
        doc_md=__doc__,
    ) as dag:
        plan = BatchPlanOperator(task_id="plan_chunks", job_file=job_file)
        workers = worker_operator.partial(task_id="load_chunk", job_file=job_file).expand(chunk=plan.output)
        merge = merge_operator(task_id="merge_final", job_file=job_file)
        reconcile = BatchReconcileOperator(
            task_id="reconcile", job_file=job_file, source=plan.output[SOURCE_XCOM_KEY], worker_metrics=workers.output
        )
        workers >> merge >> reconcile
    return dag


def build_batch_load_dags(drill: Mapping[str, Any] | None = None) -> dict[str, DAG]:
    """Every batch job's DAG, keyed by DAG id; a bad job file raises one error listing every problem."""
    from recon_operators.config.batch_jobs import load_batch_jobs

    return {job.dag_id: build_batch_load_dag(job, drill) for job in load_batch_jobs()}
