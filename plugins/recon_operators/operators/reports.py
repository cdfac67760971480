"""Report operators: Mini Recon 2, Mini Recon 3 (data prep, BRM, prefix summaries), the overall
summary and the ETL stage report. Thin: open connections through hooks, call the report module
(recon_operators.migration.*), record its verdicts in the ledger so the stage's gate sees them.

Every run is logged in ``"Migration".log_table`` (In Progress -> Passed/Failed). A mismatch is a
result, not a failure: the task succeeds and the gate decides. A report that cannot be computed
(bad config, missing table, unreachable database) is logged Failed and fails the task without
retry, with one line saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook

from recon_operators.engine.scope import Scope
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.recording import RecordingOperator

ALL_LAYERS = ("source", "transform", "stage", "target")


class _ReportOperator(RecordingOperator):
    """Shared run protocol; subclasses say which layers they read and how they report."""

    template_fields: Sequence[str] = ("scope", "store_conn_id")
    template_fields_renderers = {"scope": "json"}
    ui_color = "#e3ecf7"
    stage_name = ""
    layers_needed: tuple[str, ...] = ()
    retry_failures = False  # a report that cannot be computed will not be fixed by a retry

    def __init__(
        self,
        *,
        scope: dict[str, Any],
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        transform_conn_id: str = "transform_pg",
        stage_conn_id: str = "stage_mysql",
        stage_mongo_conn_id: str | None = None,
        target_conn_id: str = "target_pg",
        aws_conn_id: str = "aws_default",
        landing_bucket: str | None = None,
        config_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("retries", 0)
        super().__init__(store_conn_id=store_conn_id, **kwargs)
        self.scope = scope
        self.transform_conn_id = transform_conn_id
        self.stage_conn_id = stage_conn_id
        self.stage_mongo_conn_id = stage_mongo_conn_id
        self.target_conn_id = target_conn_id
        self.aws_conn_id = aws_conn_id
        self.landing_bucket = landing_bucket
        self.config_path = config_path

    # -- subclass API ---------------------------------------------------------------------------
    suite_name = ""

    @property
    def suite(self) -> str:
        """The ledger suite the verdicts are recorded under (a rerun replaces that suite's rows)."""
        return f"{self.suite_name}_brm" if getattr(self, "brm", False) else self.suite_name

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        """Write the report; return (ledger results, extra XCom fields)."""
        raise NotImplementedError

    def config(self) -> Path | None:
        return Path(self.config_path) if self.config_path else None

    # -- connections ----------------------------------------------------------------------------
    def _layers(self, stack: ExitStack) -> Any:
        from recon_operators.hooks.databases import mysql_connection, postgres_connection
        from recon_operators.migration.layer_measure import Layers

        def opened(factory: Any, conn_id: str) -> Any:
            return stack.enter_context(closing(factory(conn_id)))

        layers = Layers()
        if "transform" in self.layers_needed:
            layers.transform = opened(postgres_connection, self.transform_conn_id)
        if "target" in self.layers_needed:
            layers.target = opened(postgres_connection, self.target_conn_id)
        if "stage" in self.layers_needed:
            conn_type = (BaseHook.get_connection(self.stage_conn_id).conn_type or "").lower()
            factory = postgres_connection if conn_type in ("postgres", "postgresql") else mysql_connection
            layers.stage = opened(factory, self.stage_conn_id)
            if self.stage_mongo_conn_id:
                from recon_operators.hooks.databases import mongo_database

                database = mongo_database(self.stage_mongo_conn_id)
                stack.callback(database.client.close)
                layers.stage_mongo = database
        if "source" in self.layers_needed:
            from recon_operators.hooks.databases import s3_filesystem

            if not self.landing_bucket:
                raise ValueError(f"{type(self).__name__} needs landing_bucket to read the landed extracts")
            layers.landing_fs = s3_filesystem(self.aws_conn_id)
            layers.landing_base = f"s3://{self.landing_bucket}/{self.scope['env']}"
        return layers

    # -- run protocol ---------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        scope = Scope.from_mapping({k: v for k, v in self.scope.items() if k != "batches"} | {"stage": self.stage_name})
        with self.recording(context, scope, self.suite, process_name=self.stage_name) as run:
            with ExitStack() as stack:
                layers = self._layers(stack)
                store_conn = stack.enter_context(closing(ResultsStoreHook(self.store_conn_id).get_conn()))
                results, extra = self.report(store_conn, layers, run.run_id)
            run.record(results)
        return self.publish(context, run, **extra)

    def _report_scope(self, run_id: str) -> Any:
        from recon_operators.migration.report_sql import ReportScope

        return ReportScope.from_mapping(run_id, self.scope)


class MiniRecon2ReportOperator(_ReportOperator):
    """Mini Recon 2 for one batch (map with ``.expand(scope=batch_scopes)``): transform vs stage,
    the eight mini_recon_2 tables + summary from include/config/reports/mini_recon_2.yaml."""

    suite_name = "mini_recon_2_report"
    stage_name = "mini_recon_2"
    layers_needed = ("transform", "stage")

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        from recon_operators.migration import mr2_reports
        from recon_operators.migration.report_config import load_measures

        written = mr2_reports.write_mr2_batch(
            store_conn, layers, load_measures(self.config()), self._report_scope(run_id)
        )
        return (
            mr2_reports.check_results(written["rows"], "transform", "stage"),
            {"services": written["summary"], "written": written["written"]},
        )


class MiniRecon3DataPrepOperator(_ReportOperator):
    """Mini Recon 3 data prep for one batch: stage vs target per matrix table, or with ``brm=True``
    the landed BRM extracts (include/config/reports/mini_recon_3.yaml) vs the target."""

    suite_name = "mini_recon_3_data_prep"
    stage_name = "mini_recon_3"

    def __init__(self, *, brm: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.brm = brm
        self.layers_needed = ("source", "target") if brm else ("stage", "target")

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        from recon_operators.migration import mr3_reports
        from recon_operators.migration.report_config import load_brm, load_matrix

        scope = self._report_scope(run_id)
        if self.brm:
            rows = mr3_reports.write_data_prep_brm(store_conn, layers, load_brm(self.config()), scope)
            return mr3_reports.brm_results(rows), {"brm_files": len(rows)}
        rows = mr3_reports.write_data_prep(store_conn, layers, load_matrix(self.config()), scope)
        return mr3_reports.data_prep_results(rows), {"tables": len(rows)}


class MiniRecon3PrefixSummaryOperator(_ReportOperator):
    """Mini Recon 3 prefix summary (``brm=True``: the BRM one) for one prefix scope, from the batch
    rows already in the store; run it after every batch's data prep of the prefix."""

    suite_name = "mini_recon_3_prefix_summary"
    stage_name = "mini_recon_3"

    def __init__(self, *, brm: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.brm = brm

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        from recon_operators.migration import mr3_reports

        row = mr3_reports.write_prefix_summary(store_conn, self._report_scope(run_id), brm=self.brm)
        return (
            mr3_reports.summary_results(row, brm=self.brm),
            {
                "match_percent": str(row["match_percent"]),
                "status_match": row["status_match"],
                "failed_subsets": list(row["failed_subsets"]),
            },
        )


class _CohortReportOperator(_ReportOperator):
    """Per-cohort reports: ``scope`` holds env and cohort_id, ``batches`` the cohort's batch scopes."""

    template_fields: Sequence[str] = (*_ReportOperator.template_fields, "batches")

    def __init__(self, *, batches: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batches = batches

    def _prefixes(self) -> list[Any]:
        from recon_operators.migration.overall_report import prefixes_from_scopes

        if not self.batches:
            raise ValueError("no batches given for the cohort")
        return prefixes_from_scopes(self.batches)


class OverallSummaryOperator(_CohortReportOperator):
    """Source -> Target per prefix of the cohort, every measure at every layer."""

    suite_name = "overall_summary_report"
    stage_name = "overall_summary"
    layers_needed = ALL_LAYERS

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        from recon_operators.migration import overall_report
        from recon_operators.migration.report_config import load_measures

        rows = overall_report.write_overall_summary(
            store_conn,
            layers,
            load_measures(self.config()),
            run_id=run_id,
            env=self.scope["env"],
            cohort_id=self.scope["cohort_id"],
            prefixes=self._prefixes(),
        )
        return overall_report.overall_results(rows), {"rows": len(rows)}


class EtlStageReportOperator(_CohortReportOperator):
    """Rows per service table of the ETL matrix at Transform, Stage and Target for the cohort."""

    suite_name = "etl_stage_report"
    stage_name = "etl_stage_report"
    layers_needed = ("transform", "stage", "target")

    def report(self, store_conn: Any, layers: Any, run_id: str) -> tuple[list[Any], dict[str, Any]]:
        from recon_operators.migration import etl_stage_report
        from recon_operators.migration.report_config import load_matrix

        batches = [b for prefix in self._prefixes() for b in prefix.batches]
        rows = etl_stage_report.write_etl_stage_report(
            store_conn,
            layers,
            load_matrix(self.config()),
            run_id=run_id,
            env=self.scope["env"],
            cohort_id=self.scope["cohort_id"],
            batches=batches,
        )
        return (
            etl_stage_report.etl_results(rows),
            {"tables": len(rows), "not_deployed": sum(1 for r in rows if r.counts is None)},
        )
