"""Builds the example gated pipeline from include/config/example_gate.yaml.

reconcile (ReconCheckOperator) -> gate (policy from config) -> publish the verified extract
-> recon_outcome (fails the run when the gate stopped it).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, task

from recon_operators.config import load_config
from recon_operators.config.dags import ExampleGateFile
from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.gates import build_gate
from recon_operators.operators.check import ReconCheckOperator
from recon_operators.operators.gate import ReconRunOutcomeOperator
from recon_operators.paths import config_dir, resolve_suite_path

CONFIG_FILE = "example_gate.yaml"


def build_example_gate_dag() -> DAG:
    config = load_config(ExampleGateFile, config_dir() / CONFIG_FILE)
    variants, policy, scope, stage = config.variants, config.policy, dict(config.scope), config.stage
    alerts = config.alerts.routes()
    approved_dir = Path(config.approved_dir)

    with DAG(
        dag_id=config.dag_id,
        description="Reconcile the example files, gate, then publish the verified extract",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=config.tags,
        default_args={"owner": config.owner, "retries": 0, "on_failure_callback": failure_callbacks(alerts)},
        params={"variant": Param("clean", enum=sorted(variants), description="which stage extract to reconcile")},
        doc_md=__doc__,
    ) as dag:
        suite_choice = "{{ " + repr(variants) + "[params.variant] }}"
        check = ReconCheckOperator(
            task_id="reconcile", suite_path=suite_choice, scope=scope, stage=stage, store_conn_id=config.store_conn_id
        )
        gate = build_gate(
            f"gate_{stage}",
            policy,
            scope=scope,
            stage=stage,
            store_conn_id=config.store_conn_id,
            slack_conn_id=alerts.get("slack_conn_id"),
            sns_topic_arn=alerts.get("sns_topic_arn"),
        )

        @task(task_id="publish_verified_extract")
        def publish(suite_file: str) -> str:
            """Copy the stage extract the gate just verified into the approved folder."""
            from recon_operators.engine.spec import load_suite

            target = load_suite(resolve_suite_path(suite_file)).target.path
            approved_dir.mkdir(parents=True, exist_ok=True)
            destination = approved_dir / Path(target).name
            shutil.copyfile(target, destination)
            return str(destination)

        outcome = ReconRunOutcomeOperator(task_id="recon_outcome", gate_task_ids=[gate.task_id])
        check >> gate >> publish(suite_choice) >> outcome
    return dag
