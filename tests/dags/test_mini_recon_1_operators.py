"""Mini Recon 1 operators in a small DAG: mapped batch reports -> prefix summary -> stop gate.

Landing files go to moto S3 through generator.write_landing; the transformation is written by the
real loader into the session's ``transform`` schema. Each test has its own cohort and MSISDN block.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg2
import pytest

from recon_operators.demo.services import pg_dsn
from tests.airflow_helpers import query, run_test, task_states, xcom

pytestmark = pytest.mark.dags

BUCKET = "recon-mr1-operators"
ENV = "test"


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, moto_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    s3 = moto_server.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    return databases


def cohort(databases: dict[str, str], moto_server: Any, faults: list[dict[str, Any]] = ()) -> list[dict[str, str]]:
    """Land a two-batch cohort and load its transformation; returns the batch scopes."""
    from recon_operators.demo.faults import Fault, with_faults
    from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
    from recon_operators.demo.loaders import load_transform
    from recon_operators.engine.adapters.files import s3_filesystem
    from recon_operators.migration.landing import BatchRange

    cohort_id = f"R{uuid.uuid4().hex[:8]}"
    start = 628170000000 + uuid.uuid4().int % 9000 * 1000
    batches = [BatchRange("B001", str(start), str(start + 49)), BatchRange("B002", str(start + 50), str(start + 99))]
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    write_landing(
        generate(CohortSpec(cohort_id, [PrefixSpec("P62817", "62817", batches)], seed=3, non_migratable_rate=0.1)),
        filesystem=fs,
        base_path=f"s3://{BUCKET}/{ENV}",
        cohort_id=cohort_id,
    )
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    try:
        for batch in batches:
            with_faults(load_transform, Fault.from_conf([f for f in faults if batch.batch_id == "B002"]))(
                landing_fs=fs, landing_base=f"s3://{BUCKET}/{ENV}", cohort_id=cohort_id, batch=batch, pg_conn=conn
            )
    finally:
        conn.close()
    return [
        {
            "env": ENV,
            "cohort_id": cohort_id,
            "prefix_id": "P62817",
            "prefix": "62817",
            "batch_id": b.batch_id,
            "msisdn_start": b.msisdn_start,
            "msisdn_end": b.msisdn_end,
        }
        for b in batches
    ]


def build(scopes: list[dict[str, str]], batch_ids: list[str]):
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.mini_recon_1 import MiniRecon1BatchReportOperator, MiniRecon1PrefixSummaryOperator

    prefix_scope = {k: scopes[0][k] for k in ("env", "cohort_id", "prefix_id", "prefix")}
    with DAG(
        dag_id=f"mr1_{scopes[0]['cohort_id']}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests"},
        tags=["test"],
    ) as dag:
        reports = MiniRecon1BatchReportOperator.partial(
            task_id="mr1_batch_report",
            bucket=BUCKET,
            store_conn_id="recon_store",
            transform_conn_id="transform_pg",
            aws_conn_id="aws_default",
        ).expand(scope=scopes)
        summary = MiniRecon1PrefixSummaryOperator(
            task_id="mr1_prefix_summary", scope=prefix_scope, batch_ids=batch_ids, trigger_rule="all_done"
        )
        gate = build_gate(
            "gate_mini_recon_1",
            "stop",
            scope={"env": ENV, "cohort_id": scopes[0]["cohort_id"]},
            stage="mini_recon_1",
            with_children=True,
        )
        reports >> summary >> gate
    return dag


def log_rows(store_dsn: str, cohort_id: str) -> list[tuple]:
    return query(
        store_dsn,
        'SELECT entity_name, batch_id, status, error FROM "Migration".log_table '
        "WHERE cohort_id = %s ORDER BY entity_name, batch_id",
        cohort_id,
    )


def test_clean_batches_pass_and_the_prefix_matches(env, moto_server, store_dsn):
    scopes = cohort(env, moto_server)
    cohort_id = scopes[0]["cohort_id"]
    run = run_test(build(scopes, ["B001", "B002"]))
    states = task_states(run)
    assert run.state == "success", states
    report = xcom(run, "mr1_batch_report")  # one of the mapped instances
    assert report["status"] == "Passed" and report["failed_subsets"] == {}
    assert len(report["rows"]) == 12 and report["rows"]["recon_status"] == 1
    summary = xcom(run, "mr1_prefix_summary")
    assert summary["status"] == "Match" and summary["failed_subsets"] == [] and summary["rows"] >= 1
    assert query(
        store_dsn,
        "SELECT batch_id, active_status, prefix_summary_status FROM mini_recon_1.recon_status "
        "WHERE cohort_id = %s ORDER BY batch_id",
        cohort_id,
    ) == [("B001", "Passed", "Passed"), ("B002", "Passed", "Passed")]
    tables = query(
        store_dsn,
        "SELECT DISTINCT check_name FROM recon.check_result WHERE cohort_id = %s "
        "AND suite = 'mini_recon_1_batch_report'",
        cohort_id,
    )
    assert len(tables) == 11
    assert query(
        store_dsn, "SELECT count(*) FROM recon.check_result WHERE cohort_id = %s AND status <> 'Match'", cohort_id
    ) == [(0,)]
    assert log_rows(store_dsn, cohort_id) == [
        ("mini_recon_1_batch_report", "B001", "Passed", None),
        ("mini_recon_1_batch_report", "B002", "Passed", None),
        ("mini_recon_1_prefix_summary", None, "Passed", None),
    ]


def test_a_faulted_batch_is_a_result_and_the_gate_stops(env, moto_server, store_dsn):
    scopes = cohort(
        env,
        moto_server,
        [
            {"stage": "transform", "kind": "drop", "dataset": "subscribers", "n": 2},
            {"stage": "transform", "kind": "drop", "dataset": "payments", "n": 1},
        ],
    )
    cohort_id = scopes[0]["cohort_id"]
    run = run_test(build(scopes, ["B001", "B002"]))
    states = task_states(run)
    assert states["mr1_batch_report"] == "success" and states["mr1_prefix_summary"] == "success", states
    assert query(
        store_dsn, "SELECT stage, outcome FROM recon.gate_decision WHERE scope->>'cohort_id' = %s", cohort_id
    ) == [("mini_recon_1", "Blocked")]  # the stop gate reads the reports' ledger rows
    summary = xcom(run, "mr1_prefix_summary")
    assert summary["status"] == "Mismatch" and summary["failed_subsets"] and summary["failed_statuses"]
    assert query(
        store_dsn,
        "SELECT batch_id, active_status, prefix_summary_status FROM mini_recon_1.recon_status "
        "WHERE cohort_id = %s ORDER BY batch_id",
        cohort_id,
    ) == [("B001", "Passed", "Failed"), ("B002", "Failed", "Failed")]
    failed = {
        r[0]
        for r in query(
            store_dsn,
            "SELECT check_name FROM recon.check_result WHERE cohort_id = %s AND status = 'Mismatch'",
            cohort_id,
        )
    }
    assert failed == {"migratable_subscriber_status", "migratable_msisdn_count", "msisdn_prefix_count", "payment_count"}


def test_read_errors_and_missing_batches_fail_with_one_line(env, moto_server, store_dsn):
    scopes = cohort(env, moto_server)
    cohort_id = scopes[0]["cohort_id"]
    broken = {**scopes[1], "cohort_id": f"{cohort_id}X"}  # nothing landed for this cohort
    run = run_test(build([scopes[0], broken], ["B001", "B002"]))
    states = task_states(run)
    assert states["mr1_prefix_summary"] == "failed" and run.state == "failed", states
    logs = log_rows(store_dsn, cohort_id)
    assert logs[0][:3] == ("mini_recon_1_batch_report", "B001", "Passed")
    assert logs[1][:3] == ("mini_recon_1_prefix_summary", None, "Failed")
    assert logs[1][3].startswith("prefix P62817: no Mini Recon 1 report for batch(es) B002 (a batch this run")
    (error,) = [r for r in log_rows(store_dsn, f"{cohort_id}X")]
    assert error[:3] == ("mini_recon_1_batch_report", "B002", "Failed")
    assert "\n" not in error[3] and "subscribers/part-0000.csv" in error[3]
