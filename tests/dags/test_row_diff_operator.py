"""RowDiffOperator in a DAG: results land in the ledger and a stop gate judges them like a check."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg2
import pytest

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT
from tests.airflow_helpers import run_test, task_states, xcom
from tests.integration.rowdiff_data import changed, rows, table, write_mariadb, write_postgres

pytestmark = pytest.mark.dags


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MYSQL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}")
    return databases


def build_dag(cohort: str, source: dict, target: dict, **diff):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.row_diff import RowDiffOperator

    scope = {"env": "test", "cohort_id": cohort, "batch_id": "{{ params.batch_id }}"}
    with DAG(
        dag_id=f"row_diff_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        params={"batch_id": "2"},
        default_args={"owner": "tests", "retries": 2},
        tags=["test"],
    ) as dag:
        check = RowDiffOperator(
            task_id="row_diff",
            source=source,
            target=target,
            key="msisdn",
            scope=scope,
            diff_name="subscribers_rows",
            stage="stage_load",
            **diff,
        )
        gate = build_gate("gate", "stop", scope=scope, stage="stage_load", suite="subscribers_rows")
        after = EmptyOperator(task_id="next_stage")
        check >> gate >> after
    return dag


def ledger(store_dsn: str, cohort: str) -> dict[str, tuple]:
    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT check_name, group_key, status, actual, details, message FROM recon.check_result "
                "WHERE cohort_id = %s",
                (cohort,),
            )
            return {(r[0] if r[1] is None else f"{r[0]}:{r[1]}"): r[2:] for r in cur.fetchall()}
    finally:
        conn.close()


def test_equal_tables_pass_the_gate_with_a_templated_filter(env, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    pg_table, my_table = table(), table()
    write_postgres(env["transform"], pg_table, rows())
    write_mariadb(env["stage"], my_table, changed(rows(), 0, status="ONLY_IN_BATCH_1"))
    run = run_test(
        build_dag(
            cohort,
            {"conn_id": "transform_pg", "table": pg_table, "filter": "batch = :batch_id"},
            {"conn_id": "stage_mysql", "table": my_table, "filter": "batch = :batch_id"},
        )
    )
    assert task_states(run) == {"row_diff": "success", "gate": "success", "next_stage": "success"}
    results = ledger(store_dsn, cohort)
    assert results["row_count"][:2] == ("Match", "15")
    assert {name for name, r in results.items() if r[0] != "Match"} == set()
    assert "column_mismatch:status" in results
    summary = xcom(run, "row_diff")
    assert summary["status"] == "Match" and summary["diff"]["matched_rows"] == 15


def test_differences_block_the_gate_with_masked_samples_in_the_store(env, store_dsn, tmp_path):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    pg_table, my_table = table(), table()
    data = rows()
    write_postgres(env["transform"], pg_table, data)
    write_mariadb(env["stage"], my_table, changed(data, 4, email="moved@elsewhere.org")[:-1])
    output = tmp_path / "differences.csv"
    run = run_test(
        build_dag(
            cohort,
            {"conn_id": "transform_pg", "table": pg_table},
            {"conn_id": "stage_mysql", "table": my_table},
            tolerances={"balance": "0.01"},
            output_path=str(output),
        )
    )
    assert task_states(run) == {"row_diff": "success", "gate": "failed", "next_stage": "upstream_failed"}
    written = output.read_text().splitlines()  # every difference, masked, next to the ledger rows
    assert written[0].startswith("status,msisdn,") and len(written) == 3
    assert "u***@example.com,m***@elsewhere.org" in output.read_text() and "moved@" not in output.read_text()
    results = ledger(store_dsn, cohort)
    assert results["missing_in_target"][:2] == ("Mismatch", "1")
    assert results["changed_rows"][:2] == ("Mismatch", "1")
    assert results["column_mismatch:email"][:2] == ("Mismatch", "1")
    assert results["column_mismatch:balance"][:2] == ("Match", "0")
    assert results["changed_rows"][2]["output"] == str(output)
    samples = results["changed_rows"][2]["samples"]
    assert samples == [
        {
            "status": "changed",
            "key": {"msisdn": "62812*******04"},
            "columns": {"email": "u***@example.com~m***@elsewhere.org"},
        }
    ]


def test_unreadable_side_is_an_error_result_and_bad_spec_fails(env, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    run = run_test(
        build_dag(
            cohort,
            {"conn_id": "transform_pg", "table": "no_such_table"},
            {"conn_id": "stage_mysql", "table": "no_such_table"},
        )
    )
    assert task_states(run) == {"row_diff": "success", "gate": "failed", "next_stage": "upstream_failed"}
    results = ledger(store_dsn, cohort)
    assert list(results) == ["row_diff"] and results["row_diff"][0] == "Error"
    assert "no_such_table" in results["row_diff"][3]
    cohort = f"C{uuid.uuid4().hex[:8]}"
    run = run_test(
        build_dag(
            cohort,
            {"conn_id": "transform_pg", "table": "t"},
            {"conn_id": "stage_mysql", "table": "t"},
            tolerances={"balance": "lots"},
        )
    )
    assert task_states(run)["row_diff"] == "failed" and run.state == "failed"
    assert ledger(store_dsn, cohort) == {}
