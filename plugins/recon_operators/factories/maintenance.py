"""Builds the results-store maintenance DAG from include/config/store.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from recon_operators.config import load_config
from recon_operators.config.dags import StoreMaintenanceFile
from recon_operators.operators.store import StoreUpgradeOperator, StoreVerifyOperator
from recon_operators.paths import config_dir

CONFIG_FILE = "store.yaml"


def build_store_maintenance_dag() -> DAG:
    """Upgrade the store's schema, then verify every table the gates rely on exists."""
    config = load_config(StoreMaintenanceFile, config_dir() / CONFIG_FILE)
    dag = DAG(
        dag_id=config.dag_id,
        description="Apply results-store migrations and verify the ledger's tables",
        schedule=config.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=config.tags,
        default_args={
            "owner": config.owner,
            "retries": 1,
            "retry_delay": timedelta(seconds=30),
        },
        doc_md=__doc__,
    )
    conn_id = config.store_conn_id
    with dag:
        upgrade = StoreUpgradeOperator(task_id="upgrade_store", store_conn_id=conn_id)
        verify = StoreVerifyOperator(task_id="verify_store", store_conn_id=conn_id)
        upgrade >> verify
    return dag
