"""metrics.* writes for one run: one transaction that replaces the business day's rows.

``write_run`` never commits on its own: the caller commits after the artifacts are in S3, so a
crash between the two leaves no metrics behind (``open_day``/``transaction``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg2.extras import Json, execute_values

from recon_operators.claims.diff import Metrics
from recon_operators.paths import read_sql


@dataclass(frozen=True)
class RunRecord:
    """The run log row: which day, which files, where, and how it ended."""

    run_id: str
    dataset: str
    run_date: date
    run_ts: datetime
    status: str
    inbound_prefix: str
    processed_prefix: str
    output_prefix: str
    old_file: str | None = None
    new_file: str | None = None
    error_message: str | None = None

    def params(self) -> dict[str, Any]:
        return dict(self.__dict__)


def write_run(cur: Any, record: RunRecord, metrics: Metrics | None = None) -> None:
    """Replace the day's rows with this run's (inside the caller's transaction)."""
    cur.execute(read_sql("claims/delete_day.sql"), {"dataset": record.dataset, "run_date": record.run_date})
    cur.execute(read_sql("claims/insert_run_log.sql"), record.params())
    if metrics is None:
        return
    keys = {"run_id": record.run_id, "dataset": record.dataset, "run_date": record.run_date}
    cur.execute(read_sql("claims/insert_summary.sql"), {**keys, **metrics.summary})
    if metrics.by_column:
        execute_values(
            cur,
            read_sql("claims/insert_mismatch_by_column.sql"),
            [(record.run_id, record.run_date, column, count) for column, count in metrics.by_column],
        )
    if metrics.samples:
        execute_values(
            cur,
            read_sql("claims/insert_mismatch_sample.sql"),
            [(record.run_id, record.run_date, key, kind, Json(payload)) for key, kind, payload in metrics.samples],
            page_size=1000,
        )
