"""The four subscriber job DAGs from include/config/subscribers/jobs.yaml, one per job type.

    subscriber_migration    wait_for_file -> open_job -> plan_file -> load_chunk[c] -> resync -> finish_job
    subscriber_bulk_delete  wait_for_file -> open_job -> plan_file -> delete_chunk[c] -> resync -> finish_job
    subscriber_audit        open_job -> audit -> gate_audit -> finish_job
    subscriber_export       open_job -> export -> finish_job

A file job's run waits, deferred (no worker slot), for a CSV under its incoming prefix (or the
``input_key`` its conf names); with ``schedule: "@continuous"`` the next run starts waiting as
soon as one ends, so a landed file starts a job. Every task gets the job type's
``execution_timeout`` and retries with jittered exponential backoff (``factories/retries``); audit and export runs also get it as
``dagrun_timeout``. Parsing reads only the YAML.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.retries import retry_args
from recon_operators.operators.subscribers import (
    AuditOperator,
    ExportOperator,
    FinishJobOperator,
    OpenJobOperator,
    PlanFileOperator,
    ProvisionChunkOperator,
    ResyncOperator,
)
from recon_operators.paths import config_dir
from recon_operators.sensors.landing import S3LandingSensor
from recon_operators.subscribers.config import FILE_JOBS, JOB_TYPES, SubscriberConfig, load_subscriber_config
from recon_operators.subscribers.model import STATUSES
from recon_operators.subscribers.provisioning import Mode

POKE_SECONDS = 30.0
_MODES = [None, *(m.value for m in Mode)]


def _config_ref(config: SubscriberConfig) -> str:
    """The bundled config by name (resolved again where the task runs), any other by full path."""
    path = Path(config.path)
    return path.name if path.parent == config_dir() / "subscribers" else str(path)


def _params(config: SubscriberConfig, job_type: str) -> dict[str, Param]:
    mode = Param(
        None,
        type=["null", "string"],
        enum=_MODES,
        description="provisioning mode for this run only "
        f"(default: the Airflow Variable {config.mode_variable}, else {config.default_mode})",
    )
    if job_type in FILE_JOBS:
        incoming = config.incoming(job_type)
        params = {
            "input_key": Param(
                None,
                type=["null", "string"],
                pattern=f"^{re.escape(incoming)}[^*?\\[\\]]+\\.csv$",
                description=f"the landed file to process (default: the next under {incoming})",
            ),
            "mode": mode,
        }
        if job_type == "bulk_delete":
            params["delete"] = Param(
                None,
                type=["null", "string"],
                enum=[None, "soft", "hard"],
                description=f"soft or hard (default {config.jobs['bulk_delete'].delete})",
            )
        return params
    if job_type == "export":
        return {
            "status": Param(None, type=["null", "string"], enum=[None, *STATUSES]),
            "planId": Param(None, type=["null", "string"], pattern="^[A-Za-z0-9_.-]{1,64}$"),
            "format": Param(None, type=["null", "string"], enum=[None, "csv", "parquet"]),
            "unmask": Param(False, type="boolean", description="export MSISDN, IMSI, e-mail... in clear"),
            "mode": mode,
        }
    return {}


def build_subscriber_dag(config: SubscriberConfig, job_type: str) -> DAG:
    settings = config.jobs[job_type]
    config_file = _config_ref(config)
    common = {"config_file": config_file, "job_type": job_type}
    with DAG(
        dag_id=config.dag_id(job_type),
        description=f"Subscriber {job_type.replace('_', ' ')} job across Cloud (DynamoDB) and Legacy (MySQL)",
        schedule=settings.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1 if job_type != "export" else 4,
        dagrun_timeout=None if job_type in FILE_JOBS else settings.timeout,
        tags=["subscribers", "subscriber-job", job_type],
        params=_params(config, job_type),
        default_args={
            "owner": config.owner,
            **retry_args(settings.retries, settings.retry_delay),
            "execution_timeout": settings.timeout,
            "on_failure_callback": failure_callbacks(
                {
                    "slack_conn_id": config.alerts.slack_conn_id,
                    "sns_topic_arn": config.alerts.sns_topic_arn,
                    "aws_conn_id": config.aws_conn_id,
                }
            ),
        },
        doc_md=__doc__,
    ) as dag:
        finish = FinishJobOperator(task_id="finish_job", **common)
        if job_type in FILE_JOBS:
            wait = S3LandingSensor(
                task_id="wait_for_file",
                bucket=config.bucket,
                key="{{ params.input_key or '" + config.incoming(job_type) + "*.csv' }}",
                wildcard=True,
                aws_conn_id=config.aws_conn_id,
                soft_fail=True,
                retries=0,
                poke_interval=POKE_SECONDS,
                timeout=settings.landing_timeout.total_seconds(),
                execution_timeout=None,
            )
            opened = OpenJobOperator(task_id="open_job", landed=wait.output, **common)
            plan = PlanFileOperator(task_id="plan_file", **common)
            load = ProvisionChunkOperator.partial(
                task_id="load_chunk" if job_type == "migration" else "delete_chunk", **common
            ).expand(chunk=plan.output)
            resync = ResyncOperator(task_id="resync", **common)
            opened >> plan >> load >> resync >> finish
        elif job_type == "export":
            OpenJobOperator(task_id="open_job", **common) >> ExportOperator(task_id="export", **common) >> finish
        else:
            from recon_operators.factories.gates import build_gate
            from recon_operators.subscribers.audit import AUDIT_SUITE, audit_scope

            gate = build_gate(
                "gate_audit",
                settings.gate,
                scope=audit_scope(config.env).as_dict(),
                suite=AUDIT_SUITE,
                store_conn_id=config.store_conn_id,
                slack_conn_id=config.alerts.slack_conn_id,
                sns_topic_arn=config.alerts.sns_topic_arn,
                aws_conn_id=config.aws_conn_id,
            )
            OpenJobOperator(task_id="open_job", **common) >> AuditOperator(task_id="audit", **common) >> gate >> finish
    return dag


def build_subscriber_dags(path: str | Path | None = None) -> dict[str, DAG]:
    """The four DAGs keyed by DAG id; a bad config raises one error listing every problem."""
    config = load_subscriber_config(path)
    return {config.dag_id(job_type): build_subscriber_dag(config, job_type) for job_type in JOB_TYPES}
