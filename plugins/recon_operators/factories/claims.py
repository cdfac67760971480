"""Builds the daily claims reconciliation DAGs, one per file in include/config/claims.

wait_for_files (ClaimsLandingSensor, deferrable, soft) -> reconcile (ClaimsReconcileOperator,
runs even when the sensor skipped, so an empty day is logged NO_FILES).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from airflow.sdk import DAG

from recon_operators.claims.config import ClaimsConfig, load_claims_configs
from recon_operators.factories.retries import retry_args
from recon_operators.operators.claims import ClaimsReconcileOperator
from recon_operators.paths import config_dir
from recon_operators.sensors.claims_landing import ClaimsLandingSensor

_JINJA = {"{ds}": "{{ ds }}", "{ds_nodash}": "{{ ds_nodash }}"}


def jinja_prefix(prefix: str) -> str:
    """A config prefix (``claims/inbound/{ds}/``) as an Airflow template of the run's date."""
    for placeholder, template in _JINJA.items():
        prefix = prefix.replace(placeholder, template)
    return prefix


def _config_ref(source_file: str) -> str:
    """The bundled config by name (resolved again where the task runs), any other by full path."""
    path = Path(source_file)
    return path.name if path.parent == config_dir() / "claims" else str(path)


def build_claims_dag(config: ClaimsConfig) -> DAG:
    start = datetime.combine(config.start_date, datetime.min.time(), tzinfo=UTC)
    with DAG(
        dag_id=config.dag_id,
        description=config.description or f"Daily OLD vs NEW reconciliation of {config.dataset}",
        schedule=config.schedule,
        start_date=start,
        catchup=config.catchup,
        max_active_runs=1,  # a catch-up of many days runs them one after another, not all at once
        tags=list(config.tags),
        default_args={"owner": config.owner, **retry_args(retries=1)},
        doc_md=__doc__,
    ) as dag:
        wait = ClaimsLandingSensor(
            task_id="wait_for_files",
            bucket=config.bucket,
            key=jinja_prefix(config.inbound_prefix) + "*",
            processed_key=jinja_prefix(config.processed_prefix) + "*",
            aws_conn_id=config.aws_conn_id,
            wait_hours=config.wait_hours,
            poke_interval=config.poke_seconds,
            # The window decides; a run may start as early as its business day begins (trigger timetable).
            timeout=(24 + config.wait_hours) * 3600,
            retries=0,
        )
        reconcile = ClaimsReconcileOperator(
            task_id="reconcile", config_file=_config_ref(config.source_file), trigger_rule="none_failed"
        )
        wait >> reconcile
    return dag


def build_claims_dags(folder: Path | None = None) -> dict[str, DAG]:
    return {c.dag_id: build_claims_dag(c) for c in load_claims_configs(folder or config_dir() / "claims")}
