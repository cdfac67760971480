"""The Spark engine through the operators: a suite with ``engine: spark`` and a row diff with
``engine="spark"`` run in-process (local Spark) inside a DAG, recorded and judged by the gate."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import yaml

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn
from tests.airflow_helpers import query as rows
from tests.airflow_helpers import run_test, task_states, xcom
from tests.integration.recon_data import faulted, subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.dags


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MYSQL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}")
    return databases


def build_dag(cohort: str, suite_path, source: dict, target: dict):
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.check import ReconCheckOperator
    from recon_operators.operators.row_diff import RowDiffOperator

    scope = {"env": "test", "cohort_id": cohort, "batch_id": "{{ params.batch_id }}"}
    with DAG(
        dag_id=f"spark_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        params={"batch_id": "1"},
        default_args={"owner": "tests"},
        tags=["test"],
    ) as dag:
        check = ReconCheckOperator(
            task_id="checks", suite_path=str(suite_path), scope=scope, stage="mini_recon_1", spark_master="local[2]"
        )
        gate = build_gate("gate_checks", "stop", scope=scope, stage="mini_recon_1")
        diff = RowDiffOperator(
            task_id="row_diff",
            source=source,
            target=target,
            key="msisdn",
            scope=scope,
            diff_name="subscribers_rows",
            stage="stage_load",
            engine="spark",
        )
        check >> gate >> diff
    return dag


def suite_file(tmp_path, pg_table: str, my_table: str):
    path = tmp_path / f"suite_{uuid.uuid4().hex[:6]}.yaml"
    side = {"filter": "batch_id = :batch_id"}
    path.write_text(
        yaml.safe_dump(
            {
                "suite": "mr1_spark",
                "engine": "spark",
                "source": {"connection": "transform_pg", "table": pg_table, **side},
                "target": {"connection": "stage_mysql", "table": my_table, **side},
                "checks": [
                    {"name": "subscriber_count", "kind": "row_count"},
                    {"name": "balance_total", "kind": "sum", "column": "balance"},
                    {"name": "by_status", "kind": "row_count", "group_by": "status"},
                    {"name": "row_hash", "kind": "hash", "columns": ["msisdn", "status", "balance", "activated_at"]},
                ],
            }
        )
    )
    return path


def test_spark_suite_and_row_diff_pass_the_gate(env, tmp_path, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    pg_table, my_table = table_name(), table_name()
    data = subscribers()
    write_postgres(pg_dsn(env["transform"]), pg_table, data)
    write_mariadb(env["stage"], my_table, data)
    run = run_test(
        build_dag(
            cohort,
            suite_file(tmp_path, pg_table, my_table),
            {"conn_id": "transform_pg", "table": pg_table},
            {"conn_id": "stage_mysql", "table": my_table},
        )
    )
    assert task_states(run) == {"checks": "success", "gate_checks": "success", "row_diff": "success"}
    results = rows(
        store_dsn,
        "SELECT check_name, status, source->>'engine' FROM recon.check_result "
        "WHERE cohort_id = %s AND check_name IN ('subscriber_count', 'balance_total', 'row_hash')",
        cohort,
    )
    assert sorted(results) == [
        ("balance_total", "Match", "spark"),
        ("row_hash", "Match", "spark"),
        ("subscriber_count", "Match", "spark"),
    ]
    summary = xcom(run, "row_diff")
    assert summary["status"] == "Match" and summary["diff"]["matched_rows"] == len(data)


def test_spark_suite_mismatch_stops_the_gate(env, tmp_path, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    pg_table, my_table = table_name(), table_name()
    data = subscribers()
    write_postgres(pg_dsn(env["transform"]), pg_table, data)
    write_mariadb(env["stage"], my_table, faulted(data, amount=(2, 1)))
    run = run_test(
        build_dag(
            cohort,
            suite_file(tmp_path, pg_table, my_table),
            {"conn_id": "transform_pg", "table": pg_table},
            {"conn_id": "stage_mysql", "table": my_table},
        )
    )
    assert task_states(run) == {"checks": "success", "gate_checks": "failed", "row_diff": "upstream_failed"}
    statuses = dict(
        rows(
            store_dsn,
            "SELECT check_name, status FROM recon.check_result WHERE cohort_id = %s AND group_key IS NULL",
            cohort,
        )
    )
    assert statuses["subscriber_count"] == "Match"
    assert statuses["balance_total"] == "Mismatch" and statuses["row_hash"] == "Mismatch"


def test_spark_submit_mode_records_the_jobs_results(env, tmp_path, store_dsn, monkeypatch):
    """spark_conn_id: the suite runs as a spark-submit application (the provider's hook, a
    local[2] master here) and this task records what the job wrote back."""
    import os
    import sys

    from airflow.sdk import DAG

    from recon_operators.operators.check import ReconCheckOperator

    venv_bin = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ['PATH']}")  # spark-submit of the venv's pyspark
    monkeypatch.setenv(
        "RECON_SPARK_CONF", f"spark.pyspark.python={sys.executable};spark.pyspark.driver.python={sys.executable}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_LOCAL", '{"conn_type": "spark", "host": "local[2]"}')
    cohort = f"C{uuid.uuid4().hex[:8]}"
    pg_table, my_table = table_name(), table_name()
    data = subscribers()
    write_postgres(pg_dsn(env["transform"]), pg_table, data)
    write_mariadb(env["stage"], my_table, faulted(data, amount=(2, 1)))
    scope = {"env": "test", "cohort_id": cohort, "batch_id": "1"}
    with DAG(
        dag_id=f"spark_submit_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests"},
        tags=["test"],
    ) as dag:
        ReconCheckOperator(
            task_id="checks",
            suite_path=str(suite_file(tmp_path, pg_table, my_table)),
            scope=scope,
            stage="mini_recon_1",
            spark_conn_id="spark_local",
        )
    run = run_test(dag)
    assert task_states(run) == {"checks": "success"}
    statuses = dict(
        rows(
            store_dsn,
            "SELECT check_name, status FROM recon.check_result WHERE cohort_id = %s AND group_key IS NULL",
            cohort,
        )
    )
    assert statuses == {"subscriber_count": "Match", "balance_total": "Mismatch", "row_hash": "Mismatch"}
    assert xcom(run, "checks", "recon_summary")["mismatched"] >= 2
