"""Mini Recon 1 operators: the per-batch report (eleven tables + recon_status) and the prefix summary.

Thin over ``migration.mr1_reports`` / ``migration.formulas`` (which hold the measures and the SQL):
these open the connections through Airflow, keep the central run log, and put the outcome in the
results ledger so the stage's gate judges it like any suite. A mismatch is a result, not a task
failure; a read or database error fails the task with one line and a Failed log row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.results import CheckResult, Status
from recon_operators.engine.scope import Scope, ScopeError
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.recording import RecordingOperator

STAGE = "mini_recon_1"
BATCH_REPORT = "mini_recon_1_batch_report"
PREFIX_SUMMARY = "mini_recon_1_prefix_summary"
BATCH_FIELDS = ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end")
DEFAULT_LANDING_PATH = "{env}/{cohort_id}/{dataset}/part-0000.csv"


def _scope_values(scope: Any, fields: Sequence[str]) -> dict[str, str]:
    """The required scope fields as non-empty strings; anything else is a config error (no retry)."""
    if not isinstance(scope, dict):
        raise AirflowFailException(f"scope must be a mapping of {', '.join(fields)}, got {type(scope).__name__}")
    missing = [name for name in fields if not scope.get(name)]
    if missing:
        raise AirflowFailException(f"scope lacks {', '.join(missing)}")
    return {name: str(scope[name]) for name in fields}


def _ledger_scope(values: dict[str, str]) -> Scope:
    try:
        return Scope.from_mapping({**values, "stage": STAGE})
    except ScopeError as exc:
        raise AirflowFailException(f"scope is invalid: {exc}") from None


def _check_results(results: list[dict[str, Any]], started: datetime) -> list[CheckResult]:
    """The report's rows as ledger results: check = report table, group = what the row counts."""
    return [
        CheckResult(
            check_name=r["table"].removeprefix("tbl_"),
            kind="sum" if r["table"] == "tbl_pulsa_balance_sum" else "row_count",
            status=Status.MATCH if r["status"] == "Passed" else Status.MISMATCH,
            expected=r["expected"],
            actual=r["actual"],
            discrepancy=r["actual"] - r["expected"],
            group=r["group"],
            details=r["also"],
            source={"engine": "file", "layer": "landing"},
            target={"engine": "postgres", "layer": "transform", "table": r["table"]},
            started_at=started,
            finished_at=datetime.now(UTC),
        )
        for r in results
    ]


class MiniRecon1BatchReportOperator(RecordingOperator):
    """One batch's Mini Recon 1 report: landing files in S3 vs the transformation in Postgres.

    Reads only the batch's rows of the landing datasets it needs, writes the eleven report tables
    and the batch's ``recon_status`` row (replacing a rerun's), and records each row in the
    results ledger under stage ``mini_recon_1`` so the stage gate sees it. Returns rows per table,
    the failed subsets per table and the batch status.
    """

    template_fields: Sequence[str] = (
        "scope",
        "bucket",
        "landing_path",
        "store_conn_id",
        "transform_conn_id",
        "aws_conn_id",
        "transform_schema",
    )
    template_fields_renderers = {"scope": "json"}
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        scope: dict[str, Any],
        bucket: str,
        landing_path: str = DEFAULT_LANDING_PATH,
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        transform_conn_id: str = "transform_pg",
        aws_conn_id: str = "aws_default",
        transform_schema: str = "transform",
        **kwargs: Any,
    ) -> None:
        super().__init__(store_conn_id=store_conn_id, **kwargs)
        self.scope = scope
        self.bucket = bucket
        self.landing_path = landing_path
        self.transform_conn_id = transform_conn_id
        self.aws_conn_id = aws_conn_id
        self.transform_schema = transform_schema

    def _landing(self, values: dict[str, str]) -> dict[str, Any]:
        from recon_operators.hooks.databases import s3_filesystem
        from recon_operators.migration.landing import BatchRange, read_landing_file
        from recon_operators.migration.mr1_reports import LANDING

        batch = BatchRange.of_scope(values)
        filesystem = s3_filesystem(self.aws_conn_id)
        tables = {}
        for dataset in LANDING:
            try:
                key = self.landing_path.format(**values, dataset=dataset)
            except (KeyError, IndexError, ValueError) as exc:
                raise AirflowFailException(f"landing_path {self.landing_path!r} cannot be filled: {exc}") from None
            tables[dataset] = read_landing_file(filesystem, f"{self.bucket}/{key.lstrip('/')}", dataset, batch)
        return tables

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.databases import postgres_connection
        from recon_operators.migration.mr1_reports import write_mr1_batch

        values = _scope_values(self.scope, BATCH_FIELDS)
        scope = _ledger_scope(values)
        with self.recording(context, scope, BATCH_REPORT, process_name=STAGE) as run:
            started = datetime.now(UTC)
            landing = self._landing(values)
            with ExitStack() as stack:
                store_conn = stack.enter_context(closing(ResultsStoreHook(self.store_conn_id).get_conn()))
                transform_conn = stack.enter_context(closing(postgres_connection(self.transform_conn_id)))
                written = write_mr1_batch(
                    store_conn,
                    transform_conn,
                    run_id=run.run_id,
                    landing=landing,
                    transform_schema=self.transform_schema,
                    **values,
                )
            run.record(_check_results(written["results"], started))
        summary = {
            "scope": scope.as_dict(),
            "status": written["active_status"],
            "rows": written["rows"],
            "failed_subsets": written["failed"],
        }
        self.say(f"Mini Recon 1 batch {scope.key}: {written['active_status']}")
        for table, groups in written["failed"].items():
            self.say(f"{table} failed for {', '.join(groups)}", logging.WARNING)
        return summary


class MiniRecon1PrefixSummaryOperator(RecordingOperator):
    """One prefix's Mini Recon 1 summary, once every batch of the prefix has its report.

    Refuses (naming them) when batches of the prefix have no ``recon_status`` row, or, for the
    batches this run recomputes (``fresh_batch_ids``, default all), none from this DAG run; otherwise marks the prefix's rows Started, writes the summary (formulas in
    include/sql/mini_recon_1/prefix_summary.sql) and marks them Passed (all Match) or Failed.
    Returns Match/Mismatch and the failed subsets.
    """

    template_fields: Sequence[str] = ("scope", "batch_ids", "fresh_batch_ids", "store_conn_id")
    template_fields_renderers = {"scope": "json"}
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        scope: dict[str, Any],
        batch_ids: Sequence[str],
        fresh_batch_ids: Sequence[str] | None = None,
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(store_conn_id=store_conn_id, **kwargs)
        self.scope = scope
        self.batch_ids = batch_ids
        self.fresh_batch_ids = fresh_batch_ids

    def execute(self, context: Any) -> dict[str, Any]:
        from recon_operators.migration.formulas import write_prefix_summary
        from recon_operators.migration.mr1_status import mark_prefix, missing_batches

        values = _scope_values(self.scope, ("env", "cohort_id", "prefix_id", "prefix"))
        batch_ids = [str(b) for b in (self.batch_ids or [])]
        if not batch_ids:
            raise AirflowFailException(f"prefix {values['prefix_id']}: no batch ids given")
        scope = _ledger_scope(values)
        # Batch reports of this DAG run carry run ids "<dag>/<run>/<task>[/<map index>]".
        ti = context["ti"]
        run_prefix = f"{ti.dag_id}/{ti.run_id}/"
        with (
            self.recording(context, scope, PREFIX_SUMMARY, process_name=STAGE) as run,
            closing(ResultsStoreHook(self.store_conn_id).get_conn()) as conn,
        ):
            fresh = None if self.fresh_batch_ids is None else [str(b) for b in self.fresh_batch_ids]
            missing = missing_batches(conn, batch_ids=batch_ids, run_prefix=run_prefix, fresh_batch_ids=fresh, **values)
            if missing:
                raise AirflowFailException(
                    f"prefix {values['prefix_id']}: no Mini Recon 1 report for batch(es) "
                    f"{', '.join(missing)} (a batch this run recomputes needs this "
                    "run's report; run the whole prefix once)"
                )
            mark_prefix(conn, "Started", batch_ids=batch_ids, **values)
            try:
                rows = write_prefix_summary(conn, run_id=run.run_id, **values)
            except Exception:
                mark_prefix(conn, "Failed", batch_ids=batch_ids, **values)
                raise
            matched = bool(rows) and all(
                r["status_match"] == "Match" and r["migratable_count_status"] == "Match" for r in rows
            )
            mark_prefix(conn, "Passed" if matched else "Failed", batch_ids=batch_ids, **values)
        failed_statuses = sorted({str(r["subscriber_status"]) for r in rows if r["status_match"] != "Match"})
        status = "Match" if matched else "Mismatch"
        self.say(f"Mini Recon 1 prefix {scope.key}: {status}")
        return {
            "scope": scope.as_dict(),
            "status": status,
            "failed_subsets": list(rows[0]["failed_subsets"]),
            "failed_statuses": failed_statuses,
            "rows": len(rows),
        }
