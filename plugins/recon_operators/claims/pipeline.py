"""One business day of the claims reconciliation, end to end, without Airflow.

list the day's files -> classify (NO_FILES / INVALID_FILE_COUNT / INVALID_FILE) -> check both
headers -> COPY both into TEXT stage tables -> row diff (engine) -> metrics rows in an open
transaction -> CSV artifacts to S3 -> commit -> move the inputs to the processed prefix.

Order is what makes a crash safe: the metrics transaction commits only after the artifacts are
written, and inputs move only after the commit, so a failure at any step leaves the inputs where
they were and no metrics of that run (only a FAILED run log row saying why). A rerun of a day
whose inputs were already moved reads them from the processed prefix and writes the same rows.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from recon_operators.claims import artifacts, storage
from recon_operators.claims.config import ClaimsConfig, DayPrefixes
from recon_operators.claims.diff import Metrics, build_spec, diff_stage_tables, metrics_from
from recon_operators.claims.files import (
    FAILED,
    INVALID_FILE,
    SUCCESS,
    CsvHeader,
    FilePair,
    InvalidFile,
    Selection,
    check_headers,
    classify,
    data_files,
    parse_header,
)
from recon_operators.claims.metrics import RunRecord, write_run
from recon_operators.claims.stage import drop_table, load_csv, stage_table
from recon_operators.engine.masking import mask_text
from recon_operators.errors import one_line
from recon_operators.store.db import transaction

ConnectionFactory = Callable[[], Any]


@dataclass
class DayOutcome:
    """What a run recorded: its status and message, and for a reconciled day the counts."""

    run_id: str
    business_date: str
    status: str
    message: str = ""
    old_file: str | None = None
    new_file: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    moved_to: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_id_for(config: ClaimsConfig, business_date: date) -> str:
    """One id per dataset and business day: a rerun of the day is the same run, replaced."""
    return f"{config.dataset}_{business_date:%Y%m%d}"


class ClaimsDay:
    """The day's run. ``s3`` is a boto3 S3 client; ``stage``/``store`` open psycopg2 connections."""

    def __init__(
        self, config: ClaimsConfig, business_date: date, *, s3: Any, stage: ConnectionFactory, store: ConnectionFactory
    ) -> None:
        self.config, self.day, self.s3 = config, business_date, s3
        self._stage_factory, self._store_factory = stage, store
        self.prefixes: DayPrefixes = config.prefixes_for(business_date)
        self.run_id = run_id_for(config, business_date)
        self.started = datetime.now(UTC)

    # -- what the day delivered ------------------------------------------------------------------

    def select(self) -> tuple[Selection, bool]:
        """Classify the inbound files; with none there, the processed ones of an earlier run
        (a rerun of a finished day). Returns the selection and whether it came from processed."""
        bucket, marker = self.config.bucket, self.config.new_marker
        inbound = data_files(storage.list_keys(self.s3, bucket, self.prefixes.inbound))
        if inbound:
            return classify(inbound, marker), False
        processed = data_files(storage.list_keys(self.s3, bucket, self.prefixes.processed))
        if processed:
            return classify(processed, marker), True
        return classify([], marker), False

    def headers(self, pair: FilePair) -> tuple[CsvHeader, CsvHeader]:
        old, new = (
            parse_header(*storage.read_head(self.s3, self.config.bucket, key), self._label(side, key))
            for side, key in (("OLD", pair.old), ("NEW", pair.new))
        )
        check_headers(old, new, self.config.key_columns, self.config.columns)
        return old, new

    def _label(self, side: str, key: str) -> str:
        return f"{side} file {posixpath.basename(key)}"

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> DayOutcome:
        """Reconcile the day and record the outcome; unexpected errors are recorded, then raised."""
        selection, from_processed = self.select()
        pair = selection.pair
        outcome = DayOutcome(
            self.run_id,
            self.day.isoformat(),
            selection.status,
            selection.message,
            old_file=pair and posixpath.basename(pair.old),
            new_file=pair and posixpath.basename(pair.new),
        )
        if pair is None:
            self._record(outcome)
            return outcome
        try:
            self._reconcile(pair, from_processed, outcome)
        except InvalidFile as exc:
            outcome.status, outcome.message = INVALID_FILE, str(exc)
            self._record(outcome)
        except Exception as exc:
            outcome.status, outcome.message = FAILED, mask_text(one_line(exc))
            outcome.summary, outcome.artifacts = {}, []
            try:
                self._record(outcome)
            except Exception as record_error:  # noqa: BLE001 - the store may be what failed: keep the first error
                exc.add_note(f"recording the FAILED run also failed: {one_line(record_error)}")
            raise
        return outcome

    def _reconcile(self, pair: FilePair, from_processed: bool, outcome: DayOutcome) -> None:
        spec = build_spec(
            self.config.key_columns,
            self.config.columns,
            self.config.exclude,
            dict(self.config.rules),
            dict(self.config.tolerances),
            self.config.sample_limit,
        )
        old_header, new_header = self.headers(pair)
        tables = {
            side: stage_table(self.config.stage_schema, self.config.dataset, f"{self.day:%Y%m%d}", side)
            for side in ("old", "new")
        }
        stage_conn = self._stage_factory()
        try:
            for side, key, header in (("old", pair.old, old_header), ("new", pair.new, new_header)):
                load_csv(
                    stage_conn,
                    tables[side],
                    header.columns,
                    storage.open_stream(self.s3, self.config.bucket, key),
                    self._label(side.upper(), key),
                )
            metrics = metrics_from(diff_stage_tables(stage_conn, spec, tables["old"], tables["new"]))
        finally:
            self._drop_stage(stage_conn, tables.values())
        outcome.status, outcome.summary = SUCCESS, metrics.summary
        self._commit_with_artifacts(outcome, metrics)
        if not from_processed:
            outcome.moved_to = [
                storage.s3_url(self.config.bucket, k)
                for k in storage.move_all(self.s3, self.config.bucket, [pair.old, pair.new], self.prefixes.processed)
            ]

    def _commit_with_artifacts(self, outcome: DayOutcome, metrics: Metrics) -> None:
        """Metrics rows written, artifacts put, then one commit: either both exist or neither."""
        conn = self._store_factory()
        try:
            with transaction(conn) as cur:
                write_run(cur, self._record_row(outcome), metrics)
                files = artifacts.render(
                    {
                        "run_id": self.run_id,
                        "dataset": self.config.dataset,
                        "run_date": self.day.isoformat(),
                        **metrics.summary,
                    },
                    metrics.by_column,
                    metrics.samples,
                )
                outcome.artifacts = [
                    storage.put_text(self.s3, self.config.output_bucket, self.prefixes.output + name, text)
                    for name, text in files.items()
                ]
        finally:
            conn.close()

    def _drop_stage(self, conn: Any, tables: Any) -> None:
        try:
            if not self.config.keep_stage_tables:
                for table in tables:
                    drop_table(conn, table)
        finally:
            conn.close()

    def _record_row(self, outcome: DayOutcome) -> RunRecord:
        return RunRecord(
            run_id=self.run_id,
            dataset=self.config.dataset,
            run_date=self.day,
            run_ts=self.started,
            status=outcome.status,
            old_file=outcome.old_file,
            new_file=outcome.new_file,
            inbound_prefix=storage.s3_url(self.config.bucket, self.prefixes.inbound),
            processed_prefix=storage.s3_url(self.config.bucket, self.prefixes.processed),
            output_prefix=storage.s3_url(self.config.output_bucket, self.prefixes.output),
            error_message=outcome.message or None,
        )

    def _record(self, outcome: DayOutcome) -> None:
        """A run without metrics (a file-level status or a failure): the run log row alone."""
        conn = self._store_factory()
        try:
            with transaction(conn) as cur:
                write_run(cur, self._record_row(outcome))
        finally:
            conn.close()


def reconcile_day(
    config: ClaimsConfig, business_date: date, *, s3: Any, stage: ConnectionFactory, store: ConnectionFactory
) -> DayOutcome:
    """Run one business day (see the module doc). Public entry point for operators and scripts."""
    return ClaimsDay(config, business_date, s3=s3, stage=stage, store=store).run()
