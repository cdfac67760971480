"""Builds the results-store maintenance DAG from include/config/store.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from recon_operators.factories.config import load_yaml, require
from recon_operators.operators.store import StoreUpgradeOperator, StoreVerifyOperator

CONFIG_FILE = "store.yaml"


def build_store_maintenance_dag() -> DAG:
    """Upgrade the store's schema, then verify every table the gates rely on exists."""
    config = load_yaml(CONFIG_FILE)
    where = f"{CONFIG_FILE}"
    dag = DAG(
        dag_id=require(config, "dag_id", str, where),
        description="Apply results-store migrations and verify the ledger's tables",
        schedule=config.get("schedule"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=require(config, "tags", list, where),
        default_args={
            "owner": require(config, "owner", str, where),
            "retries": 1,
            "retry_delay": timedelta(seconds=30),
        },
        doc_md=__doc__,
    )
    conn_id = require(config, "store_conn_id", str, where)
    with dag:
        upgrade = StoreUpgradeOperator(task_id="upgrade_store", store_conn_id=conn_id)
        verify = StoreVerifyOperator(task_id="verify_store", store_conn_id=conn_id)
        upgrade >> verify
    return dag
