"""ReconCheckOperator: run one suite for a templated scope and record the results in the ledger."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import SuiteError, SuiteSpec, load_suite
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.recording import RecordingOperator
from recon_operators.paths import resolve_suite_path

MAX_LOGGED_FAILURES = 20


class ReconCheckOperator(RecordingOperator):
    """Run a check suite for a scope; results go to the store, a compact summary to XCom.

    The task succeeds when the suite was evaluated and recorded, whatever the verdict: judging
    the verdict is the gate's job, so a mismatch is decided by the stage's policy, not by retries.
    The run's log row says ``Failed`` when some checks could not be evaluated (Error results).
    """

    template_fields: Sequence[str] = (
        "suite_path",
        "scope",
        "stage",
        "store_conn_id",
        "engine",
        "spark_master",
        "spark_conn_id",
    )
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
        super().__init__(store_conn_id=store_conn_id, **kwargs)
        self.spark_conn_id = spark_conn_id  # set: the suite runs by spark-submit on that connection's cluster
        self.engine = engine  # "spark": this run on Spark whatever the suite says; None: the suite's engine
        self.spark_master = spark_master  # in-process Spark's master (default local[*])
        self.suite_path = suite_path
        self.scope = scope
        self.stage = stage
        self.process_name = process_name
        self.only = only

    def _scope(self, suite: SuiteSpec | None) -> Scope:
        values = dict(self.scope)
        values["stage"] = self.stage or values.get("stage") or (suite.stage if suite else None)
        return Scope.from_mapping(values)

    def _load(self, context: Any) -> SuiteSpec:
        """Load the suite; a broken one is logged as a Failed run and fails the task without retry."""
        path = resolve_suite_path(self.suite_path)
        try:
            return load_suite(path)
        except SuiteError as exc:
            for problem in exc.problems:
                self.say(str(problem), logging.ERROR)
            with self.recording(
                context, self._scope(None), path.stem, process_name=self.process_name or self.stage or path.stem
            ):
                raise

    def _run(self, suite: SuiteSpec, scope: Scope, open_side: Any) -> list[Any]:
        """In this process (Spark in local mode for ``engine: spark``), or by spark-submit."""
        on_spark = (self.engine or suite.engine) == "spark"
        if on_spark and self.spark_conn_id:
            from recon_operators.hooks.spark import submit_suite

            return submit_suite(
                suite, resolve_suite_path(self.suite_path), scope.as_dict(), conn_id=self.spark_conn_id, only=self.only
            )
        if on_spark:
            from recon_operators.engine.spark.session import configure

            configure(self.spark_master)
        return run_suite(suite, scope, open_side, only=self.only, engine=self.engine)

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.databases import open_side

        suite = self._load(context)
        scope = self._scope(suite)
        with self.recording(context, scope, suite.name, process_name=self.process_name) as run:
            run.record(self._run(suite, scope, open_side))
        summary = self.publish(context, run)
        for check in run.verdict.failed_checks[:MAX_LOGGED_FAILURES]:
            self.say(
                f"{check['status']}: {check['check_name']}"
                f"{'[' + check['group_key'] + ']' if check['group_key'] else ''} "
                f"expected {check['expected']} actual {check['actual']} "
                f"discrepancy {check['discrepancy']} {check['message'] or ''}",
                logging.WARNING,
            )
        return summary
