"""Which batches the Mini Recon 1 prefix summary still lacks: full runs and partial reruns."""

from __future__ import annotations

import uuid

import pytest

from recon_operators.migration.mr1_status import missing_batches
from recon_operators.paths import read_sql

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(store_conn) -> dict[str, str]:
    return {"env": "test", "cohort_id": f"S{uuid.uuid4().hex[:8]}", "prefix_id": "P62811", "prefix": "62811"}


def report(conn, prefix: dict[str, str], batch_id: str, run_id: str) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            read_sql("mini_recon_1/upsert_recon_status.sql"),
            {
                **prefix,
                "run_id": run_id,
                "batch_id": batch_id,
                "msisdn_start": "628110000000",
                "msisdn_end": "628110000099",
                "active_status": "Passed",
            },
        )


def test_a_full_run_needs_every_batch_from_this_run(store_conn, prefix):
    report(store_conn, prefix, "B001", "dag/old/report/0")
    report(store_conn, prefix, "B002", "dag/new/report/1")
    assert missing_batches(store_conn, batch_ids=["B001", "B002", "B003"], run_prefix="dag/new/", **prefix) == [
        "B001",
        "B003",
    ]


def test_a_partial_rerun_counts_the_other_batches_last_report(store_conn, prefix):
    report(store_conn, prefix, "B001", "dag/old/report/0")
    report(store_conn, prefix, "B002", "dag/old/report/1")
    args = {"batch_ids": ["B001", "B002"], "run_prefix": "dag/rerun/", "fresh_batch_ids": ["B002"], **prefix}
    assert missing_batches(store_conn, **args) == ["B002"]  # the rerun's own batch is not reported yet
    report(store_conn, prefix, "B002", "dag/rerun/report/0")
    assert missing_batches(store_conn, **args) == []
    assert missing_batches(store_conn, **{**args, "batch_ids": ["B001", "B002", "B003"]}) == ["B003"]
