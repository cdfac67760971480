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

from datetime import datetime

from airflow.sdk import DAG, Param

from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.batch_load_config import BatchJobConfig
from recon_operators.factories.retries import retry_args
from recon_operators.operators.batch_load import (
    SOURCE_XCOM_KEY, BatchMergeOperator, BatchPlanOperator, BatchReconcileOperator, BatchWorkerOperator,
)

FAULTS_HELP = ('faults to inject (tests, drills), e.g. [{"kind": "drop_rows", "worker": "w02", "n": 2}], '
               '[{"kind": "shift_amount", "worker": "w01", "delta": "0.01"}], [{"kind": "merge_loses_rows", "n": 3}]')


def build_batch_load_dag(job: BatchJobConfig) -> DAG:
    job_file = str(job.path)
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
            "faults": Param([], type="array", description=FAULTS_HELP),
        },
        default_args={"owner": job.owner, **retry_args(retries=job.retries),  # parallel workers: jittered
                      "on_failure_callback": failure_callbacks({"slack_conn_id": job.alerts.slack_conn_id,
                                                                "sns_topic_arn": job.alerts.sns_topic_arn,
                                                                "aws_conn_id": job.connections.aws})},
        doc_md=__doc__,
    ) as dag:
        plan = BatchPlanOperator(task_id="plan_chunks", job_file=job_file)
        workers = BatchWorkerOperator.partial(task_id="load_chunk", job_file=job_file,
                                              faults="{{ params.faults }}").expand(chunk=plan.output)
        merge = BatchMergeOperator(task_id="merge_final", job_file=job_file, faults="{{ params.faults }}")
        reconcile = BatchReconcileOperator(task_id="reconcile", job_file=job_file,
                                           source=plan.output[SOURCE_XCOM_KEY], worker_metrics=workers.output)
        workers >> merge >> reconcile
    return dag


def build_batch_load_dags() -> dict[str, DAG]:
    """Every batch job's DAG, keyed by DAG id; a bad job file raises one error listing every problem."""
    from recon_operators.factories.batch_load_config import load_batch_jobs

    return {job.dag_id: build_batch_load_dag(job) for job in load_batch_jobs()}
