"""ReconCheckOperator: run one suite for a templated scope and record the results in the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from airflow.sdk import BaseOperator

from recon_operators.engine.masking import scrub
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import SuiteError, SuiteSpec, load_suite
from recon_operators.errors import error_line
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.failures import task_failure
from recon_operators.operators.summary import compact_summary
from recon_operators.notifiers.alerts import SUMMARY_XCOM_KEY
from recon_operators.paths import config_dir

MAX_LOGGED_FAILURES = 20


def resolve_suite_path(path: str) -> Path:
    """Suite files are named relative to include/config/suites unless absolute."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    return config_dir() / "suites" / candidate


def airflow_run_id(context: Any) -> str:
    """Stable per task instance (retries included), so a retry or clear replaces its own rows."""
    ti = context["ti"]
    suffix = f"/{ti.map_index}" if getattr(ti, "map_index", -1) not in (None, -1) else ""
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}{suffix}"


class ReconCheckOperator(BaseOperator):
    """Run a check suite for a scope; results go to the store, a compact summary to XCom.

    The task succeeds when the suite was evaluated and recorded, whatever the verdict: judging
    the verdict is the gate's job, so a mismatch is decided by the stage's policy, not by retries.
    The run's log row says ``Failed`` when some checks could not be evaluated (Error results).
    """

    template_fields: Sequence[str] = ("suite_path", "scope", "stage", "store_conn_id", "engine", "spark_master",
                                      "spark_conn_id")
    template_fields_renderers = {"scope": "json"}
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        suite_path: str,
        scope: dict[str, Any],
        stage: str | None = None,
        process_name: str | None = None,
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        only: list[str] | None = None,
        engine: str | None = None,
        spark_master: str | None = None,
        spark_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spark_conn_id = spark_conn_id  # set: the suite runs by spark-submit on that connection's cluster
        self.engine = engine  # "spark": this run on Spark whatever the suite says; None: the suite's engine
        self.spark_master = spark_master  # in-process Spark's master (default local[*])
        self.suite_path = suite_path
        self.scope = scope
        self.stage = stage
        self.process_name = process_name
        self.store_conn_id = store_conn_id
        self.only = only

    def _scope(self, suite: SuiteSpec | None) -> Scope:
        values = dict(self.scope)
        values["stage"] = self.stage or values.get("stage") or (suite.stage if suite else None)
        return Scope.from_mapping(values)

    def _load(self, store: Any, context: Any) -> SuiteSpec:
        """Load the suite; a broken one is logged as a Failed run and fails the task without retry."""
        path = resolve_suite_path(self.suite_path)
        try:
            return load_suite(path)
        except SuiteError as exc:
            run = store.open_run(self._scope(None), path.stem, process_name=self.process_name or self.stage or path.stem,
                                 run_id=airflow_run_id(context))
            store.finish_run(run, "Failed", error=str(exc))
            for problem in exc.problems:
                self.log.error("%s", scrub(problem))
            raise task_failure(exc) from None

    def _run(self, suite: SuiteSpec, scope: Scope, open_side: Any) -> list[Any]:
        """In this process (Spark in local mode for ``engine: spark``), or by spark-submit."""
        on_spark = (self.engine or suite.engine) == "spark"
        if on_spark and self.spark_conn_id:
            from recon_operators.hooks.spark import submit_suite

            return submit_suite(suite, resolve_suite_path(self.suite_path), scope.as_dict(),
                                conn_id=self.spark_conn_id, only=self.only)
        if on_spark:
            from recon_operators.engine.spark.session import configure

            configure(self.spark_master)
        return run_suite(suite, scope, open_side, only=self.only, engine=self.engine)

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.databases import open_side

        store = ResultsStoreHook(self.store_conn_id).get_store()
        try:
            suite = self._load(store, context)
            scope = self._scope(suite)
            run = store.open_run(scope, suite.name, process_name=self.process_name or scope.stage or suite.name,
                                 entity_name=suite.name, run_id=airflow_run_id(context))
            try:
                results = self._run(suite, scope, open_side)
                store.record_results(run, results)
            except Exception as exc:  # noqa: BLE001 - recorded, then raised as the one masked line
                store.finish_run(run, "Failed", error=error_line(exc))
                raise task_failure(exc) from None
            errors = [r for r in results if r.status.value == "Error"]
            store.finish_run(run, "Failed" if errors else "Passed",
                             error="; ".join(f"{r.check_name}: {r.message}" for r in errors) or None)
            verdict = store.verdict(scope, suite.name)
        finally:
            store.close()
        summary = compact_summary(verdict, scope, suite.name)
        summary["run_id"] = run.run_id
        self.log.info("%s", scrub(f"suite {suite.name} for {scope.key}: {verdict.status} ({verdict.matched} matched, "
                                  f"{verdict.mismatched} mismatched, {verdict.errored} errors)"))
        for check in verdict.failed_checks[:MAX_LOGGED_FAILURES]:
            self.log.warning("%s", scrub(f"{check['status']}: {check['check_name']}"
                                         f"{'[' + check['group_key'] + ']' if check['group_key'] else ''} "
                                         f"expected {check['expected']} actual {check['actual']} "
                                         f"discrepancy {check['discrepancy']} {check['message'] or ''}"))
        # The alert notifiers read this key when a later task fails (on_failure_callback).
        context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=summary)
        return summary
