"""One DAG per cohort from include/config/cohorts: load, reconcile and gate, hop by hop.

    land sources -> load_transform[batch] -> mini_recon_1[suite x batch] -> gate_mini_recon_1
    -> load_stage[batch] -> mini_recon_2[...] -> gate_mini_recon_2 -> load_target[batch]
    -> mini_recon_3[...] (BRM suite behind an S3 sensor on the BRM extract) -> gate_mini_recon_3
    -> overall_summary[...] -> gate_overall_summary -> recon_outcome

Batch work is mapped over the cohort's batches, so a 40-batch cohort is one task per batch in
the UI. Gates judge the whole cohort's stage (every batch's results); a stop skips every later
hop and ``recon_outcome`` fails the run. Parsing reads only the YAML: no database, no S3.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.cohort_config import CohortConfig, StageConfig
from recon_operators.factories.gates import build_gate
from recon_operators.operators.batches import SelectBatchesOperator
from recon_operators.operators.check import ReconCheckOperator
from recon_operators.operators.gate import ReconRunOutcomeOperator
from recon_operators.operators.loads import BuiltinLoadOperator, LandDemoSourcesOperator

HOP_OF = {"transform": "transform", "stage": "stage", "target": "target"}


def batch_scopes(cohort: CohortConfig) -> list[dict[str, str]]:
    return [cohort.run_params(prefix.prefix_id, batch.batch_id) for prefix, batch in cohort.batches()]


def _load_task(cohort: CohortConfig, stage: StageConfig, scopes: Any) -> Any:
    """The hop's load, mapped over batches: built-in loaders, a Glue job run, or another DAG."""
    load = stage.load
    assert load is not None
    timeout = timedelta(minutes=load.timeout_minutes) if load.timeout_minutes else None
    if load.kind == "glue":
        from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

        # Waits for the job run to finish, so no gate judges a hop that is still loading.
        return GlueJobOperator.partial(
            task_id=f"load_{stage.name}", job_name=load.job_name, aws_conn_id=cohort.connections.aws,
            wait_for_completion=True, execution_timeout=timeout,
        ).expand(script_args=scopes.map(load.arguments_for))
    if load.kind == "trigger_dag":
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        return TriggerDagRunOperator.partial(
            task_id=f"load_{stage.name}", trigger_dag_id=load.dag_id, wait_for_completion=True,
            poke_interval=30, failed_states=["failed"], execution_timeout=timeout,
        ).expand(conf=scopes.map(load.arguments_for))
    bucket = cohort.landing.bucket if cohort.landing else ""
    return BuiltinLoadOperator.partial(
        task_id=f"load_{stage.name}", hop=HOP_OF[stage.name], bucket=bucket, faults="{{ params.faults }}",
        transform_conn_id=cohort.connections.transform_pg, stage_conn_id=cohort.connections.stage_mysql,
        target_conn_id=cohort.connections.target, aws_conn_id=cohort.connections.aws,
    ).expand(scope=scopes)


def _brm_sensor(cohort: CohortConfig) -> Any:
    """Wait for the BRM billing extract in S3; its arrival starts the BRM reconciliation.

    Deferrable: the wait runs in the triggerer, so a late extract holds no worker slot. A file
    that does not land within the landing timeout fails the sensor, so the run cannot succeed
    with the BRM reconciliation never run.
    """
    from recon_operators.sensors.landing import S3LandingSensor

    landing = cohort.landing
    assert landing is not None
    return S3LandingSensor(task_id="wait_brm_extract", bucket=landing.bucket, key=landing.brm_key(cohort.cohort_params()),
                           wildcard=landing.wildcard, aws_conn_id=cohort.connections.aws, retries=0,
                           poke_interval=30, timeout=landing.timeout_minutes * 60)


def _checks(cohort: CohortConfig, stage: StageConfig, scopes: Any) -> list[tuple[Any, Any]]:
    """(first task, check task) per suite: BRM suites wait for their extract first."""
    pairs = []
    for suite in stage.suites:
        check = ReconCheckOperator.partial(
            task_id=f"{stage.name}__{Path(suite).stem}", suite_path=suite, stage=stage.name,
            store_conn_id=cohort.connections.store,
        ).expand(scope=scopes)
        first = check
        if "brm" in Path(suite).stem and cohort.landing is not None:
            first = _brm_sensor(cohort)
            first >> check
        pairs.append((first, check))
    return pairs


def _gate(cohort: CohortConfig, stage: StageConfig) -> Any:
    return build_gate(
        f"gate_{stage.name}", stage.policy, approval_timeout=stage.approval_timeout,
        scope={"env": cohort.env, "cohort_id": cohort.cohort_id}, stage=stage.name, with_children=True,
        store_conn_id=cohort.connections.store, slack_conn_id=cohort.alerts.slack_conn_id,
        sns_topic_arn=cohort.alerts.sns_topic_arn, aws_conn_id=cohort.connections.aws,
    )


def build_cohort_dag(cohort: CohortConfig) -> DAG:
    with DAG(
        dag_id=cohort.dag_id,
        description=cohort.description or f"Migration of cohort {cohort.cohort_id}, reconciled hop by hop",
        schedule=cohort.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=list(cohort.tags),
        params={"prefix_ids": Param([], type="array", description="rerun only these prefixes (empty: all)"),
                "batch_ids": Param([], type="array", description="rerun only these batches, BATCH or PREFIX/BATCH "
                                                                 "(empty: all)"),
                "faults": Param([], type="array",
                                description='faults to inject, e.g. [{"stage": "stage", "kind": "drop", '
                                            '"dataset": "subscribers", "n": 3}]')},
        default_args={"owner": cohort.owner, "retries": 1, "retry_delay": timedelta(seconds=30),
                      "on_failure_callback": failure_callbacks({"slack_conn_id": cohort.alerts.slack_conn_id,
                                                                "sns_topic_arn": cohort.alerts.sns_topic_arn})},
        doc_md=__doc__,
    ) as dag:
        previous: Any = SelectBatchesOperator(task_id="select_batches", scopes=batch_scopes(cohort),
                                              prefix_ids="{{ params.prefix_ids }}", batch_ids="{{ params.batch_ids }}")
        scopes = previous.output
        transform = cohort.stage("transform")
        if transform is not None and transform.load is not None and transform.load.kind == "builtin" and cohort.landing:
            previous = previous >> LandDemoSourcesOperator(
                task_id="land_demo_sources", bucket=cohort.landing.bucket, env=cohort.env,
                aws_conn_id=cohort.connections.aws,
                cohort={"cohort_id": cohort.cohort_id, "prefixes": [
                    {"prefix_id": p.prefix_id, "prefix": p.prefix,
                     "batches": [{"batch_id": b.batch_id, "msisdn_start": b.msisdn_start, "msisdn_end": b.msisdn_end}
                                 for b in p.batches]} for p in cohort.prefixes]})
        gates: list[str] = []
        for stage in cohort.stages:
            if stage.is_load:
                task = _load_task(cohort, stage, scopes)
                if previous is not None:
                    previous >> task
                previous = task
                continue
            if not stage.suites:
                continue  # a report stage without suites has nothing to gate yet
            gate = _gate(cohort, stage)
            for first, check in _checks(cohort, stage, scopes):
                if previous is not None:
                    previous >> first
                check >> gate
            gates.append(gate.task_id)
            previous = gate
        outcome = ReconRunOutcomeOperator(task_id="recon_outcome", gate_task_ids=gates)
        if previous is not None:
            previous >> outcome
    return dag


def build_cohort_dags() -> dict[str, DAG]:
    """Every cohort's DAG, keyed by DAG id. A bad cohort file raises one error listing every
    problem (file, line, cohort, field), so Airflow shows an import error, never a half-built DAG."""
    from recon_operators.factories.cohort_config import load_cohorts

    return {cohort.dag_id: build_cohort_dag(cohort) for cohort in load_cohorts()}
