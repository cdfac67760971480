"""Operators of the subscriber job DAGs, thin over ``recon_operators.subscribers`` (no Airflow there).

    open_job          resolve the mode, claim the landed file, open the job row (RUNNING), and
                      prepare the stores (Legacy DDL, Cloud table) before any chunk runs
    plan_file         validate every row, write the rejects file and the chunk files
    load_chunk[i]     one chunk (mapped): provision it in the mode's store(s), record its counts
    resync            retry what a dual write left out of sync (also after a failed chunk)
    audit / export    the audit and export jobs
    finish_job        sum the counts, merge load failures into the rejects file, fail the run
                      when a task failed; its return value is the job (for the REST API)

The config is re-read from its YAML file when a task runs, so the task and the DAG agree. Errors
follow the project's contract (``operators/failures.py``, docs/errors.md): one masked line; bad
input (config, conf, file header) fails at once without retry, a store or service away fails the
attempt (retried with backoff).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from recon_operators.engine.masking import scrub
from recon_operators.errors import error_line

OPEN_TASK = "open_job"
SUMMARY_KEYS = (
    "job_id",
    "job_type",
    "job_status",
    "mode",
    "input_file_key",
    "output_file_key",
    "rejects_file_key",
    "output_url",
    "processed_records",
    "success_records",
    "failed_records",
    "filters",
    "details",
)


def _bad_input() -> tuple[type[BaseException], ...]:
    from recon_operators.config import ConfigError
    from recon_operators.operators.failures import BAD_INPUT
    from recon_operators.subscribers.files import InputFileError
    from recon_operators.subscribers.provisioning import ModeError

    return (*BAD_INPUT, ConfigError, InputFileError, ModeError)


def _unavailable() -> tuple[type[BaseException], ...]:
    from recon_operators.engine.adapters.base import SourceError
    from recon_operators.store.db import StoreError
    from recon_operators.subscribers.cloud import CloudError
    from recon_operators.subscribers.legacy import LegacyError

    return (CloudError, LegacyError, StoreError, SourceError)


class _SubscriberOperator(BaseOperator):
    """What every subscriber job task shares: its config file and job type."""

    ui_color = "#eaf2f8"

    def __init__(self, *, config_file: str, job_type: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_file = config_file
        self.job_type = job_type

    def execute(self, context: Any) -> Any:
        """``run``, with this project's errors turned into one masked line (Airflow's own pass)."""
        from recon_operators.operators.failures import ReconTaskError

        try:
            return self.run(context)
        except AirflowException:
            raise
        except _bad_input() as exc:
            raise AirflowFailException(self.job_error(context, exc)) from None
        except _unavailable() as exc:
            raise ReconTaskError(self.job_error(context, exc)) from None

    def job_error(self, context: Any, exc: BaseException) -> str:
        """The failure's one line, also recorded on the job when the store can be reached."""
        line = f"{self.task_id}: {error_line(exc)}"
        try:
            from recon_operators.hooks.subscribers import job_store

            with closing(job_store(self.config())) as jobs:
                jobs.record_error(dag_id=context["ti"].dag_id, run_id=context["ti"].run_id, error=line)
        except Exception as record_failure:  # noqa: BLE001 - the task fails with its own line regardless
            self.log.warning("could not record the error on the job: %s", error_line(record_failure))
        return line

    def run(self, context: Any) -> Any:
        raise NotImplementedError

    def config(self) -> Any:
        from recon_operators.paths import config_dir
        from recon_operators.subscribers.config import load_subscriber_config

        path = Path(self.config_file)
        return load_subscriber_config(path if path.is_absolute() else config_dir() / "subscribers" / path)

    @staticmethod
    def opened(context: Any) -> dict[str, Any]:
        """The job ``open_job`` opened in this run; skip when it never did (no file landed)."""
        job = context["ti"].xcom_pull(task_ids=OPEN_TASK)
        if not job:
            raise AirflowSkipException("no job was opened in this run (no file landed, or open_job failed)")
        return dict(job)


class OpenJobOperator(_SubscriberOperator):
    """Open the run's job: mode from conf / Variable / config, the landed file claimed into the
    job's folder, filters recorded; prepares the mode's stores (DDL happens here, once)."""

    template_fields: Sequence[str] = ("landed",)

    def __init__(self, *, landed: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.landed = landed

    def filters(self, config: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        if self.job_type == "bulk_delete":
            return {"delete": params.get("delete") or config.jobs["bulk_delete"].delete}
        if self.job_type == "export":
            return {
                "status": params.get("status") or None,
                "planId": params.get("planId") or None,
                "format": params.get("format") or config.jobs["export"].format,
                "unmask": bool(params.get("unmask")),
            }
        return {}

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.subscribers import aws_client, cloud_store, job_store, legacy_store, mode_variable
        from recon_operators.subscribers import files
        from recon_operators.subscribers.config import FILE_JOBS
        from recon_operators.subscribers.jobs import JOB_TYPES
        from recon_operators.subscribers.legacy import ensure_schema
        from recon_operators.subscribers.model import canonical_timestamp
        from recon_operators.subscribers.provisioning import Mode, resolve_mode

        config, params, ti = self.config(), context["params"], context["ti"]
        if self.job_type == "audit":
            mode, source = Mode.DUAL_PROV, "audit compares both systems"
        else:
            mode, source = resolve_mode(params.get("mode"), mode_variable(config), config.default_mode)
        filters = self.filters(config, params)
        with closing(job_store(config)) as jobs:
            handle = jobs.open(
                job_type=JOB_TYPES[self.job_type],
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                mode=None if self.job_type == "audit" else mode.value,
                filters=filters,
            )
            input_key = handle.input_file_key
            if self.job_type in FILE_JOBS and input_key is None:
                if not self.landed:
                    raise AirflowFailException("no input file: the landing sensor found none")
                landed = sorted(self.landed)[0]
                input_key = files.claim(
                    aws_client(config, "s3"), config.bucket, landed, config.job_prefix(self.job_type, handle.job_id)
                )
                jobs.record(handle.job_id, input_file_key=input_key)
        if self.job_type in FILE_JOBS:
            if mode.legacy:
                with legacy_store(config) as legacy:
                    ensure_schema(legacy.conn)
            if mode.cloud:
                cloud_store(config).ensure_table()
        self.log.info(
            "job %s (%s) open: mode %s (%s), input %s, filters %s",
            handle.job_id,
            self.job_type,
            mode.value,
            source,
            input_key,
            filters,
        )
        started = handle.started_at  # the job's clock: every chunk (and retry) stamps the same time
        now = canonical_timestamp(started.replace(microsecond=started.microsecond // 1000 * 1000))
        return {
            "job_id": handle.job_id,
            "job_type": self.job_type,
            "mode": mode.value,
            "mode_source": source,
            "now": now,
            "input_key": input_key,
            "filters": filters,
        }


class PlanFileOperator(_SubscriberOperator):
    """Validate the job's file; rejects next to it; the valid rows in chunk files (mapped next)."""

    def run(self, context: Any) -> list[dict[str, Any]]:
        from recon_operators.hooks.subscribers import aws_client, job_store
        from recon_operators.subscribers.files import plan_file

        config, job = self.config(), self.opened(context)
        settings = config.jobs[self.job_type]
        plan = plan_file(
            aws_client(config, "s3"),
            config.bucket,
            job["input_key"],
            config.job_prefix(self.job_type, job["job_id"]),
            chunk_size=settings.chunk_size,
            kind=self.job_type,
        )
        with closing(job_store(config)) as jobs:
            jobs.record(
                job["job_id"], rejects_file_key=plan.rejects_key, details={"rows": plan.rows, "rejected": plan.rejected}
            )
            jobs.totals(job["job_id"])
        self.log.info(
            "job %s: %d rows, %d valid in %d chunk(s), %d rejected%s",
            job["job_id"],
            plan.rows,
            plan.valid,
            len(plan.chunks),
            plan.rejected,
            f" (reasons in s3://{config.bucket}/{plan.rejects_key})" if plan.rejects_key else "",
        )
        return [c.as_dict() for c in plan.chunks]


class ProvisionChunkOperator(_SubscriberOperator):
    """One chunk of a migration (upsert) or bulk delete, all-or-nothing per record in DUAL_PROV."""

    template_fields: Sequence[str] = ("chunk",)

    def __init__(self, *, chunk: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk = chunk

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.subscribers import aws_client, job_store, stores
        from recon_operators.subscribers import files
        from recon_operators.subscribers.provisioning import Mode, Provisioner, delete_planner, upsert_planner

        config, job, chunk = self.config(), self.opened(context), dict(self.chunk)
        s3, mode = aws_client(config, "s3"), Mode(job["mode"])
        rows = files.read_chunk(s3, config.bucket, chunk["key"])
        records = {record["uid"]: record for _, record in rows}
        if self.job_type == "migration":
            planner = upsert_planner(records, job["now"])
        else:
            planner = delete_planner(job["now"], soft=job["filters"].get("delete") != "hard")
        with stores(config, mode.cloud, mode.legacy) as (cloud, legacy), closing(job_store(config)) as jobs:
            if jobs.jobs(job_id=job["job_id"])[0]["job_status"] == "CANCELLED":
                raise AirflowSkipException(f"job {job['job_id']} was cancelled: {chunk['chunk']} not loaded")
            provisioner = Provisioner(
                mode, cloud=cloud, legacy=legacy, journal=jobs.journal(job["job_id"]), job_id=job["job_id"]
            )
            outcome = provisioner.write_chunk(chunk["chunk"], list(records), planner)
            if outcome.failures:
                columns = files.ATTRIBUTES if self.job_type == "migration" else files.DELETE_COLUMNS
                failed = [
                    [line, *(record.get(c) for c in columns), outcome.failures[record["uid"]]]
                    for line, record in rows
                    if record["uid"] in outcome.failures
                ]
                files.write_rejects(
                    s3, config.bucket, chunk["key"].removesuffix(".csv") + ".failed.csv", columns, failed
                )
            processed, succeeded, failed_total = jobs.record_chunk(job["job_id"], chunk["chunk"], outcome.as_dict())
        counts = outcome.as_dict()
        self.log.info(
            "job %s %s: %s; job so far: %d processed, %d succeeded, %d failed",
            job["job_id"],
            chunk["chunk"],
            counts,
            processed,
            succeeded,
            failed_total,
        )
        for uid, reason in sorted(outcome.failures.items())[:20]:
            self.log.warning("%s %s failed: %s", chunk["chunk"], uid, scrub(reason))
        return counts


class ResyncOperator(_SubscriberOperator):
    """Retry the subscribers a dual write left out of sync (Cloud made equal to Legacy); runs
    even when a chunk failed, since that chunk may have stopped half-way. Retries (with backoff)
    while some stay out of sync; in the end the run fails and they stay listed for the next job."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.subscribers import job_store, stores
        from recon_operators.operators.failures import ReconTaskError
        from recon_operators.subscribers.provisioning import Mode, Provisioner

        config, job = self.config(), self.opened(context)
        if job["mode"] != Mode.DUAL_PROV.value:
            return {"resolved": 0, "open": 0}
        with stores(config, True, True) as (cloud, legacy), closing(job_store(config)) as jobs:
            provisioner = Provisioner(
                Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=jobs.journal(job["job_id"]), job_id=job["job_id"]
            )
            resolved, failing = jobs.resync(job["job_id"], provisioner.resync)
        self.log.info(
            "job %s: %d out-of-sync subscriber(s) resolved, %d still open", job["job_id"], resolved, len(failing)
        )
        if failing:
            first = next(iter(failing.items()))
            raise ReconTaskError(
                scrub(
                    f"{len(failing)} subscriber(s) still differ between Cloud and Legacy "
                    f"(first: {first[0]}: {first[1]}); listed in recon.subscriber_sync_issue"
                )
            )
        return {"resolved": resolved, "open": 0}


class FinishJobOperator(_SubscriberOperator):
    """Close the job's books: counts summed, load failures merged into the rejects file; fails
    the run when a task of it failed (the listener then ends the job FAILED). Returns the job."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs["retries"] = 0
        super().__init__(**kwargs)

    def merge_failures(self, config: Any, job: Mapping[str, Any], jobs: Any) -> None:
        from recon_operators.claims.storage import list_keys
        from recon_operators.hooks.subscribers import aws_client
        from recon_operators.subscribers import files

        s3 = aws_client(config, "s3")
        prefix = config.job_prefix(self.job_type, job["job_id"])
        failed = [k for k in list_keys(s3, config.bucket, prefix + "chunks/") if k.endswith(".failed.csv")]
        if not failed:
            return
        key = files.rejects_key(job["input_key"])
        previous = (
            files.read_rejects(s3, config.bucket, key) if jobs.jobs(job_id=job["job_id"])[0]["rejects_file_key"] else []
        )
        rows = [list(r.values()) for r in previous] + [
            list(r.values()) for k in failed for r in files.read_rejects(s3, config.bucket, k)
        ]
        columns = files.ATTRIBUTES if self.job_type == "migration" else files.DELETE_COLUMNS
        jobs.record(
            job["job_id"],
            rejects_file_key=files.write_rejects(s3, config.bucket, key, columns, {tuple(r): r for r in rows}.values()),
        )

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.subscribers import job_store
        from recon_operators.subscribers.config import FILE_JOBS

        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
        failed = sorted(k for k, s in states.items() if s in ("failed", "upstream_failed") and k != ti.task_id)
        if failed and not ti.xcom_pull(task_ids=OPEN_TASK):
            raise AirflowFailException(f"task(s) {', '.join(failed)} failed before a job was opened")
        config, job = self.config(), self.opened(context)
        with closing(job_store(config)) as jobs:
            if self.job_type in FILE_JOBS:
                self.merge_failures(config, job, jobs)
                jobs.totals(job["job_id"])
            (row,) = jobs.jobs(job_id=job["job_id"])
        summary = {k: (str(v) if k == "job_id" else v) for k, v in row.items() if k in SUMMARY_KEYS}
        self.log.info(
            "job %s %s: %s processed, %s succeeded, %s failed",
            summary["job_id"],
            self.job_type,
            summary["processed_records"],
            summary["success_records"],
            summary["failed_records"],
        )
        if failed:
            raise AirflowFailException(
                f"job {summary['job_id']}: task(s) {', '.join(failed)} failed; "
                f"{summary['success_records']} of {summary['processed_records']} records done"
            )
        return summary


class ExportOperator(_SubscriberOperator):
    """Export the mode's system(s), merged and filtered, to S3; record the pre-signed URL."""

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.hooks.subscribers import aws_client, job_store, stores
        from recon_operators.subscribers.export import export, publish
        from recon_operators.subscribers.provisioning import Mode

        config, job = self.config(), self.opened(context)
        filters, mode = job["filters"], Mode(job["mode"])
        fmt, settings = filters["format"], config.jobs["export"]
        selection = {k: filters[k] for k in ("status", "planId") if filters.get(k)}
        with (
            tempfile.TemporaryDirectory(prefix="recon-export-") as folder,
            stores(config, mode.cloud, mode.legacy) as (cloud, legacy),
        ):
            result = export(
                cloud, legacy, selection, fmt, Path(folder) / f"subscribers.{fmt}", unmask=filters.get("unmask", False)
            )
            key = config.job_prefix("export", job["job_id"]) + f"subscribers.{fmt}"
            url = publish(
                aws_client(config, "s3"), config.bucket, key, result.path, int(settings.url_expiry.total_seconds())
            )
        with closing(job_store(config)) as jobs:
            jobs.record(
                job["job_id"],
                output_file_key=key,
                output_url=url,
                processed=result.rows,
                succeeded=result.rows,
                failed=0,
                details={"by_sync_status": result.by_status},
            )
        self.log.info(
            "job %s: exported %d subscriber(s) %s (%s) to s3://%s/%s; URL valid %s",
            job["job_id"],
            result.rows,
            result.by_status,
            "in clear" if filters.get("unmask") else "PII masked",
            config.bucket,
            key,
            settings.url_expiry,
        )
        return {"rows": result.rows, "output_file_key": key, "by_sync_status": result.by_status}


class AuditOperator(_SubscriberOperator):
    """Cloud vs Legacy with the engine's keyed row diff: results in the ledger (for the gate), the
    sync summary on the job, the masked mismatch list in S3."""

    def run(self, context: Any) -> dict[str, Any]:
        from recon_operators.claims.artifacts import to_csv
        from recon_operators.claims.storage import put_text
        from recon_operators.engine.adapters.base import SourceError
        from recon_operators.engine.results import utcnow
        from recon_operators.engine.rowdiff.results import diff_check_results, diff_error_result
        from recon_operators.engine.spec import SideSpec
        from recon_operators.hooks.databases import open_side
        from recon_operators.hooks.subscribers import aws_client, job_store
        from recon_operators.subscribers.audit import (
            MISMATCH_HEADER,
            legacy_query,
            mismatch_rows,
            run_audit,
            sync_summary,
        )

        config, job = self.config(), self.opened(context)
        limit, started = config.jobs["audit"].mismatch_limit, utcnow()
        described = ({"engine": "dynamodb", "table": config.cloud_table}, {"engine": "mysql", "table": "subscribers"})
        try:
            with (
                open_side(SideSpec(connection=config.aws_conn_id, table=config.cloud_table), "cloud") as cloud,
                open_side(SideSpec(connection=config.legacy_conn_id, query=legacy_query()), "legacy") as legacy,
            ):
                cloud.segments = config.scan_segments
                result = run_audit(cloud, legacy, mismatch_limit=limit)
        except SourceError as exc:  # a side cannot be read: an Error verdict for gates, and the attempt fails
            self.record_verdict(context, config, [diff_error_result(error_line(exc), *described, started)])
            raise
        self.record_verdict(context, config, diff_check_results(result, started))
        summary = sync_summary(result, limit)
        key = config.job_prefix("audit", job["job_id"]) + "mismatches.csv"
        put_text(aws_client(config, "s3"), config.bucket, key, to_csv(MISMATCH_HEADER, mismatch_rows(result)))
        with closing(job_store(config)) as jobs:
            jobs.record(
                job["job_id"],
                output_file_key=key,
                processed=summary["subscribers"],
                succeeded=summary["in_sync"],
                failed=summary["subscribers"] - summary["in_sync"],
                details={"sync": summary},
            )
        self.log.info(
            "job %s: %d subscribers: %d in sync, %d cloud only, %d legacy only, %d with field conflicts %s "
            "(%.1f s); mismatch list s3://%s/%s",
            job["job_id"],
            summary["subscribers"],
            summary["in_sync"],
            summary["cloud_only"],
            summary["legacy_only"],
            summary["field_conflicts"],
            summary["conflicts_by_field"],
            result.seconds,
            config.bucket,
            key,
        )
        return summary

    @staticmethod
    def record_verdict(context: Any, config: Any, results: list[Any]) -> None:
        """The audit's results in the ledger (replacing the previous audit's), for the gate."""
        from recon_operators.hooks.results_store import ResultsStoreHook
        from recon_operators.operators.recording import airflow_run_id, failure_line
        from recon_operators.subscribers.audit import AUDIT_SUITE, audit_scope

        store = ResultsStoreHook(config.store_conn_id).get_store()
        try:
            with store.run(
                audit_scope(config.env),
                AUDIT_SUITE,
                process_name=AUDIT_SUITE,
                run_id=airflow_run_id(context),
                describe=failure_line,
            ) as run:
                run.record(results)
        finally:
            store.close()
