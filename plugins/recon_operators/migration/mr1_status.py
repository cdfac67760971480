"""Mini Recon 1 batch ledger (``mini_recon_1.recon_status``) reads and updates for the prefix summary.

No Airflow imports; each call runs in its own transaction on the caller's psycopg2 connection to
the results store. The SQL lives in include/sql/mini_recon_1/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recon_operators.migration.formulas import _required
from recon_operators.paths import read_sql
from recon_operators.store.db import transaction

__all__ = ["PREFIX_SUMMARY_STATES", "missing_batches", "mark_prefix"]

PREFIX_SUMMARY_STATES = ("Started", "Passed", "Failed")


def missing_batches(
    conn: Any,
    *,
    env: str,
    cohort_id: str,
    prefix_id: str,
    prefix: str,
    batch_ids: Sequence[str],
    run_prefix: str,
    fresh_batch_ids: Sequence[str] | None = None,
) -> list[str]:
    """The batches of the prefix without a recon_01 row; for ``fresh_batch_ids`` (default: all
    of them) only a row written by a run id starting ``run_prefix`` counts."""
    _required(env=env, cohort_id=cohort_id, prefix_id=prefix_id, prefix=prefix, run_prefix=run_prefix)
    with transaction(conn) as cur:
        cur.execute(
            read_sql("mini_recon_1/missing_batches.sql"),
            {
                "env": env,
                "cohort_id": cohort_id,
                "prefix_id": prefix_id,
                "prefix": prefix,
                "batch_ids": list(batch_ids),
                "run_prefix": run_prefix,
                "fresh_batch_ids": list(batch_ids if fresh_batch_ids is None else fresh_batch_ids),
            },
        )
        return [row[0] for row in cur.fetchall()]


def mark_prefix(
    conn: Any, status: str, *, env: str, cohort_id: str, prefix_id: str, prefix: str, batch_ids: Sequence[str]
) -> int:
    """Set prefix_summary_status on the prefix's batch rows; returns how many rows it set."""
    if status not in PREFIX_SUMMARY_STATES:
        raise ValueError(f"prefix summary status must be one of {PREFIX_SUMMARY_STATES}, not {status!r}")
    _required(env=env, cohort_id=cohort_id, prefix_id=prefix_id, prefix=prefix)
    with transaction(conn) as cur:
        cur.execute(
            read_sql("mini_recon_1/mark_prefix_summary.sql"),
            {
                "status": status,
                "env": env,
                "cohort_id": cohort_id,
                "prefix_id": prefix_id,
                "prefix": prefix,
                "batch_ids": list(batch_ids),
            },
        )
        return cur.rowcount
