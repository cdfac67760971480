"""One DAG per cohort from include/config/cohorts: load, reconcile and gate, hop by hop.

    select_batches -> land sources, prepare layer tables -> load_transform[batch]
    -> Mini Recon 1: suites[suite x batch] + batch report[batch] -> ledger wait[prefix]
       -> prefix summary[prefix] -> gate_mini_recon_1
    -> load_stage[batch] -> Mini Recon 2: suites + report[batch] -> gate_mini_recon_2
    -> load_target[batch] -> Mini Recon 3: suites + data prep[batch] -> ledger wait[prefix]
       -> prefix summary[prefix]; BRM leg behind a deferrable S3 sensor on the BRM extract
       -> gate_mini_recon_3
    -> overall summary (suites + report per prefix) -> gate_overall_summary
    -> ETL stage report (table matrix per layer) -> gate_etl_stage_report -> recon_outcome

Batch work is mapped over the batches ``select_batches`` picks from the run's params (all by
default), prefix work over their prefixes. Gates judge the whole cohort's stage (every batch's
results, suites and reports alike); a stop fails the gate, no later hop starts, and
``recon_outcome`` fails the run naming the gate. Each hop is one TaskGroup (task ids keep no
group prefix). A gate that passes emits the cohort and hop's verified asset event. Retries back off
exponentially with jitter (``retries``). Parsing reads only the YAML: no database, no S3.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from airflow.sdk import DAG, Param, TaskGroup, chain

from recon_operators.config.cohorts import CohortConfig, StageConfig
from recon_operators.factories.alerts import failure_callbacks
from recon_operators.factories.gates import build_gate
from recon_operators.factories.retries import retry_args
from recon_operators.operators.assets import verified_asset
from recon_operators.operators.batches import SelectBatchesOperator
from recon_operators.operators.check import ReconCheckOperator
from recon_operators.operators.gate import ReconRunOutcomeOperator
from recon_operators.operators.mini_recon_1 import (
    BATCH_REPORT as MR1_BATCH_REPORT,
)
from recon_operators.operators.mini_recon_1 import (
    MiniRecon1BatchReportOperator,
    MiniRecon1PrefixSummaryOperator,
)
from recon_operators.operators.reports import (
    EtlStageReportOperator,
    MiniRecon2ReportOperator,
    MiniRecon3DataPrepOperator,
    MiniRecon3PrefixSummaryOperator,
    OverallSummaryOperator,
)
from recon_operators.sensors.ledger import LedgerSensor

MR3_DATA_PREP = MiniRecon3DataPrepOperator.suite_name

HOP_TITLES = {
    "transform": "Transform",
    "mini_recon_1": "Mini Recon 1",
    "stage": "Stage",
    "mini_recon_2": "Mini Recon 2",
    "target": "Target",
    "mini_recon_3": "Mini Recon 3",
    "overall_summary": "Overall",
    "etl_stage_report": "ETL report",
}
HOP_TOOLTIPS = {
    "transform": "Landing files -> Transformation (Postgres)",
    "mini_recon_1": "Landing vs Transformation, gated",
    "stage": "Transformation -> Stage (MariaDB)",
    "mini_recon_2": "Transformation vs Stage, gated",
    "target": "Stage -> Target (Postgres)",
    "mini_recon_3": "Stage vs Target and BRM, gated",
    "overall_summary": "Source vs Target, per prefix and subset, gated",
    "etl_stage_report": "Table counts per layer, gated",
}
PREFIX_FIELDS = ("env", "cohort_id", "prefix_id", "prefix")
PREFIX_WAIT_POKE_SECONDS = 10
PREFIX_WAIT_TIMEOUT = timedelta(hours=6)


class BuiltinLoads(Protocol):
    """The steps behind ``load: {kind: builtin}``. Production cohorts load through Glue or another
    DAG; the demo's own loaders (``demo.load_operators.DEMO_LOADS``) come in through the DAG file,
    so no factory imports demo code."""

    params: Mapping[str, Any]  # run params the steps read (e.g. faults)

    def before_loads(self, cohort: CohortConfig) -> list[Any]: ...

    def load(self, cohort: CohortConfig, stage: StageConfig, scopes: Any) -> Any: ...


def uses_builtin_loads(cohort: CohortConfig) -> bool:
    return any(stage.load is not None and stage.load.kind == "builtin" for stage in cohort.stages)


def batch_scopes(cohort: CohortConfig) -> list[dict[str, str]]:
    return [cohort.run_params(prefix.prefix_id, batch.batch_id) for prefix, batch in cohort.batches()]


def _load_task(cohort: CohortConfig, stage: StageConfig, scopes: Any, builtin: BuiltinLoads | None) -> Any:
    """The hop's load, mapped over batches: built-in loaders, a Glue job run, a Spark job, or another DAG."""
    load = stage.load
    assert load is not None
    timeout = timedelta(minutes=load.timeout_minutes) if load.timeout_minutes else None
    if load.kind == "glue":
        from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

        # Waits for the job run to finish, so no gate judges a hop that is still loading.
        return GlueJobOperator.partial(
            task_id=f"load_{stage.name}",
            job_name=load.job_name,
            aws_conn_id=cohort.connections.aws,
            wait_for_completion=True,
            execution_timeout=timeout,
        ).expand(script_args=scopes.map(load.arguments_for))
    if load.kind == "spark":
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

        # spark-submit waits for the application, so the gate judges a finished load.
        return SparkSubmitOperator.partial(
            task_id=f"load_{stage.name}",
            application=load.application,
            conn_id=load.conn_id,
            name=f"recon-{cohort.cohort_id}-{stage.name}",
            execution_timeout=timeout,
        ).expand(application_args=scopes.map(load.application_args))
    if load.kind == "trigger_dag":
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        return TriggerDagRunOperator.partial(
            task_id=f"load_{stage.name}",
            trigger_dag_id=load.dag_id,
            wait_for_completion=True,
            poke_interval=30,
            failed_states=["failed"],
            execution_timeout=timeout,
        ).expand(conf=scopes.map(load.arguments_for))
    assert builtin is not None  # build_cohort_dag checked it
    return builtin.load(cohort, stage, scopes)


def _brm_sensor(cohort: CohortConfig) -> Any:
    """Wait for the BRM billing extract in S3; its arrival starts the BRM reconciliation.

    Deferrable: the wait runs in the triggerer, so a late extract holds no worker slot. A file
    that does not land within the landing timeout fails the sensor, so the run cannot succeed
    with the BRM reconciliation never run.
    """
    from recon_operators.sensors.landing import S3LandingSensor

    landing = cohort.landing
    assert landing is not None
    return S3LandingSensor(
        task_id="wait_brm_extract",
        bucket=landing.bucket,
        key=landing.brm_key(cohort.cohort_params()),
        wildcard=landing.wildcard,
        aws_conn_id=cohort.connections.aws,
        retries=0,
        poke_interval=30,
        timeout=landing.timeout_minutes * 60,
    )


def _checks(cohort: CohortConfig, stage: StageConfig, scopes: Any, brm_sensor: Any) -> list[tuple[Any, Any]]:
    """(first task, check task) per suite: BRM suites wait for their extract first."""
    pairs = []
    for suite in stage.suites:
        check = ReconCheckOperator.partial(
            task_id=f"{stage.name}__{Path(suite).stem}",
            suite_path=suite,
            stage=stage.name,
            store_conn_id=cohort.connections.store,
        ).expand(scope=scopes)
        first = check
        if "brm" in Path(suite).stem and brm_sensor is not None:
            first = brm_sensor
            first >> check
        pairs.append((first, check))
    return pairs


def _gate(cohort: CohortConfig, stage: StageConfig) -> Any:
    return build_gate(
        f"gate_{stage.name}",
        stage.policy,
        approval_timeout=stage.approval_timeout,
        scope={"env": cohort.env, "cohort_id": cohort.cohort_id},
        stage=stage.name,
        with_children=True,
        store_conn_id=cohort.connections.store,
        slack_conn_id=cohort.alerts.slack_conn_id,
        sns_topic_arn=cohort.alerts.sns_topic_arn,
        aws_conn_id=cohort.connections.aws,
        verified_asset=verified_asset(cohort.env, cohort.cohort_id, stage.name),
    )


# -- per-prefix kwargs, computed at run time from select_prefixes' output -----------------------


def prefix_scope(prefix: dict[str, Any]) -> dict[str, str]:
    return {key: prefix[key] for key in PREFIX_FIELDS}


def _wait_kwargs(stage: str, prefix: dict[str, Any]) -> dict[str, Any]:
    """Wait for the batches this run recomputes, with this run's results. The prefix's other
    batches are not waited for: with one active run per cohort nobody else could write them; the
    prefix summary names them if they never reported."""
    return {
        "scope": {**prefix_scope(prefix), "stage": stage},
        "expected_batches": prefix["fresh_batch_ids"],
        "fresh_batches": prefix["fresh_batch_ids"],
    }


def mini_recon_1_wait_kwargs(prefix: dict[str, Any]) -> dict[str, Any]:
    return _wait_kwargs("mini_recon_1", prefix)


def mini_recon_3_wait_kwargs(prefix: dict[str, Any]) -> dict[str, Any]:
    return _wait_kwargs("mini_recon_3", prefix)


def mini_recon_1_summary_kwargs(prefix: dict[str, Any]) -> dict[str, Any]:
    return {
        "scope": prefix_scope(prefix),
        "batch_ids": prefix["batch_ids"],
        "fresh_batch_ids": prefix["fresh_batch_ids"],
    }


_WAIT_KWARGS = {"mini_recon_1": mini_recon_1_wait_kwargs, "mini_recon_3": mini_recon_3_wait_kwargs}


class _Builder:
    """Adds one cohort's tasks to the DAG being built; keeps the shared XCom args in one place."""

    def __init__(self, cohort: CohortConfig) -> None:
        self.cohort = cohort
        connections = cohort.connections
        self.bucket = cohort.landing.bucket if cohort.landing else None
        self.report_kwargs = {
            "store_conn_id": connections.store,
            "transform_conn_id": connections.transform_pg,
            "stage_conn_id": connections.stage_mysql,
            "target_conn_id": connections.target,
            "aws_conn_id": connections.aws,
            "landing_bucket": self.bucket,
        }
        selection = {
            "scopes": batch_scopes(cohort),
            "prefix_ids": "{{ params.prefix_ids }}",
            "batch_ids": "{{ params.batch_ids }}",
        }
        self.select = SelectBatchesOperator(task_id="select_batches", **selection)
        select_prefixes = SelectBatchesOperator(task_id="select_prefixes", per="prefix", **selection)
        self.select >> select_prefixes  # a bad selection fails once, in select_batches
        self.scopes = self.select.output
        self.prefixes = select_prefixes.output
        self.brm_sensor: Any = None

    def prefix_wait(self, stage: str, suite: str, task_id: str) -> Any:
        """Wait on the ledger until each prefix's batches of this run reported (matched or not)
        with this run's results: the prefix summary must not read a prefix half rewritten."""
        return LedgerSensor.partial(
            task_id=task_id,
            suite=suite,
            require="present",
            store_conn_id=self.cohort.connections.store,
            poke_interval=PREFIX_WAIT_POKE_SECONDS,
            timeout=PREFIX_WAIT_TIMEOUT.total_seconds(),
            retries=0,
        ).expand_kwargs(self.prefixes.map(_WAIT_KWARGS[stage]))

    def mini_recon_1(self) -> tuple[list[Any], list[Any]]:
        if not self.bucket:
            return [], []  # the batch report reads the landed extracts
        report = MiniRecon1BatchReportOperator.partial(
            task_id="mini_recon_1__batch_report",
            bucket=self.bucket,
            store_conn_id=self.cohort.connections.store,
            transform_conn_id=self.cohort.connections.transform_pg,
            aws_conn_id=self.cohort.connections.aws,
        ).expand(scope=self.scopes)
        wait = self.prefix_wait("mini_recon_1", MR1_BATCH_REPORT, "mini_recon_1__wait_prefix_batches")
        summary = MiniRecon1PrefixSummaryOperator.partial(
            task_id="mini_recon_1__prefix_summary",
            store_conn_id=self.cohort.connections.store,
        ).expand_kwargs(self.prefixes.map(mini_recon_1_summary_kwargs))
        report >> wait >> summary
        return [report], [summary]

    def mini_recon_2(self) -> tuple[list[Any], list[Any]]:
        report = MiniRecon2ReportOperator.partial(task_id="mini_recon_2__report", **self.report_kwargs).expand(
            scope=self.scopes
        )
        return [report], [report]

    def mini_recon_3(self) -> tuple[list[Any], list[Any]]:
        prep = MiniRecon3DataPrepOperator.partial(task_id="mini_recon_3__data_prep", **self.report_kwargs).expand(
            scope=self.scopes
        )
        wait = self.prefix_wait("mini_recon_3", MR3_DATA_PREP, "mini_recon_3__wait_prefix_batches")
        summary = MiniRecon3PrefixSummaryOperator.partial(
            task_id="mini_recon_3__prefix_summary", **self.report_kwargs
        ).expand(scope=self.prefixes.map(prefix_scope))
        prep >> wait >> summary
        roots, leaves = [prep], [summary]
        if self.brm_sensor is not None:
            brm_prep = MiniRecon3DataPrepOperator.partial(
                task_id="mini_recon_3__data_prep_brm", brm=True, **self.report_kwargs
            ).expand(scope=self.scopes)
            brm_summary = MiniRecon3PrefixSummaryOperator.partial(
                task_id="mini_recon_3__prefix_summary_brm",
                brm=True,
                **self.report_kwargs,
            ).expand(scope=self.prefixes.map(prefix_scope))
            self.brm_sensor >> brm_prep >> brm_summary
            roots.append(self.brm_sensor)
            leaves.append(brm_summary)
        return roots, leaves

    def cohort_report(self, operator: type, task_id: str) -> tuple[list[Any], list[Any]]:
        if not self.bucket and operator is OverallSummaryOperator:
            return [], []  # the overall summary counts the landed extracts
        report = operator(
            task_id=task_id, scope=self.cohort.cohort_params(), batches=batch_scopes(self.cohort), **self.report_kwargs
        )
        return [report], [report]

    def reports(self, stage: StageConfig) -> tuple[list[Any], list[Any]]:
        """The stage's built-in reports (the reference's Mini Recon and reporting tables): the
        tasks that start after the previous hop, and those the stage's gate waits for."""
        if stage.name == "mini_recon_1":
            return self.mini_recon_1()
        if stage.name == "mini_recon_2":
            return self.mini_recon_2()
        if stage.name == "mini_recon_3":
            return self.mini_recon_3()
        if stage.name == "overall_summary":
            return self.cohort_report(OverallSummaryOperator, "overall_summary__report")
        if stage.name == "etl_stage_report":
            return self.cohort_report(EtlStageReportOperator, "etl_stage_report__report")
        return [], []


def _land_and_prepare(cohort: CohortConfig, builtin: BuiltinLoads | None) -> list[Any]:
    """Before the mapped built-in loads, whatever they need once (the demo: land, create tables)."""
    transform = cohort.stage("transform")
    if transform is None or transform.load is None or transform.load.kind != "builtin":
        return []
    assert builtin is not None  # build_cohort_dag checked it
    return builtin.before_loads(cohort)


def _hop_group(stage: StageConfig) -> TaskGroup:
    """One TaskGroup per hop, so the graph reads as the hop chain. Task ids keep no group prefix:
    they are what the ledger, alerts and reruns name."""
    return TaskGroup(
        group_id=stage.name,
        group_display_name=HOP_TITLES.get(stage.name, stage.name),
        prefix_group_id=False,
        tooltip=HOP_TOOLTIPS.get(stage.name, ""),
    )


def build_cohort_dag(cohort: CohortConfig, builtin_loads: BuiltinLoads | None = None) -> DAG:
    """The cohort's DAG; a cohort with ``load: {kind: builtin}`` needs ``builtin_loads``."""
    if uses_builtin_loads(cohort) and builtin_loads is None:
        raise ValueError(
            f"cohort {cohort.cohort_id}: load kind builtin needs the built-in load steps "
            "(build_cohort_dags(builtin_loads=...), as dags/recon_cohorts.py passes the demo's)"
        )
    alerts = {
        "slack_conn_id": cohort.alerts.slack_conn_id,
        "sns_topic_arn": cohort.alerts.sns_topic_arn,
        "aws_conn_id": cohort.connections.aws,
    }
    with DAG(
        dag_id=cohort.dag_id,
        description=cohort.description or f"Migration of cohort {cohort.cohort_id}, reconciled hop by hop",
        schedule=cohort.schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=list(cohort.tags),
        params={
            "prefix_ids": Param([], type="array", description="rerun only these prefixes (empty: all)"),
            "batch_ids": Param(
                [], type="array", description="rerun only these batches, BATCH or PREFIX/BATCH (empty: all)"
            ),
            **(builtin_loads.params if builtin_loads is not None else {}),
        },
        default_args={
            "owner": cohort.owner,
            **retry_args(),
            "on_failure_callback": failure_callbacks(alerts, scope=cohort.cohort_params()),
        },
        doc_md=__doc__,
    ) as dag:
        groups = {stage.name: _hop_group(stage) for stage in cohort.stages}
        with groups[cohort.stages[0].name]:  # the first hop starts by picking the run's batches
            build = _Builder(cohort)
        previous: Any = build.select
        scopes = build.scopes
        gates: list[str] = []
        for stage in cohort.stages:
            with groups[stage.name]:
                if stage.is_load:
                    before = _land_and_prepare(cohort, builtin_loads) if stage.name == "transform" else []
                    task = _load_task(cohort, stage, scopes, builtin_loads)
                    chain(previous, *([before] if before else []), task)  # landing and DDL side by side
                    previous = task
                    continue
                if stage.name == "mini_recon_3" and cohort.landing is not None:
                    build.brm_sensor = _brm_sensor(cohort)  # the landing config names the BRM extract
                checks = _checks(cohort, stage, scopes, build.brm_sensor)
                roots, leaves = build.reports(stage)
                roots = list(dict.fromkeys([first for first, _ in checks] + roots))  # the BRM sensor once
                if not roots:
                    continue  # nothing measures this stage
                gate = _gate(cohort, stage)
                previous >> roots
                [check for _, check in checks] + leaves >> gate
                gates.append(gate.task_id)
                previous = gate
        outcome = ReconRunOutcomeOperator(task_id="recon_outcome", gate_task_ids=gates)
        previous >> outcome
    return dag


def build_cohort_dags(builtin_loads: BuiltinLoads | None = None) -> dict[str, DAG]:
    """Every cohort's DAG, keyed by DAG id. A bad cohort file raises one error listing every
    problem (file, line, cohort, field), so Airflow shows an import error, never a half-built DAG."""
    from recon_operators.config.cohorts import load_cohorts

    return {cohort.dag_id: build_cohort_dag(cohort, builtin_loads) for cohort in load_cohorts()}
