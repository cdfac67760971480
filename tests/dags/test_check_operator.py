"""ReconCheckOperator on bad input: every failure is recorded, clear, and leaves no partial rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import yaml

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn
from tests.airflow_helpers import query as rows
from tests.airflow_helpers import run_test, task_states, xcom
from tests.integration.recon_data import subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.dags


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MYSQL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}")
    return databases


def build_dag(suite_path, cohort: str):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.check import ReconCheckOperator
    from recon_operators.operators.gate import ReconRunOutcomeOperator

    scope = {"env": "test", "cohort_id": cohort, "batch_id": "{{ params.batch_id }}"}
    with DAG(
        dag_id=f"check_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        params={"batch_id": "7"},
        default_args={"owner": "tests", "retries": 2},
        tags=["test"],
    ) as dag:
        check = ReconCheckOperator(
            task_id="mini_recon_1", suite_path=str(suite_path), scope=scope, stage="mini_recon_1"
        )
        gate = build_gate("gate_mini_recon_1", "stop", scope=scope, stage="mini_recon_1")
        load = EmptyOperator(task_id="load_stage")
        outcome = ReconRunOutcomeOperator(task_id="recon_outcome", gate_task_ids=["gate_mini_recon_1"])
        check >> gate >> load >> outcome
    return dag


def suite_file(tmp_path, source: dict, target: dict):
    path = tmp_path / f"suite_{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "suite": "mr1",
                "source": source,
                "target": target,
                "checks": [
                    {"name": "subscriber_count", "kind": "row_count"},
                    {"name": "balance_total", "kind": "sum", "column": "balance"},
                ],
            }
        )
    )
    return path


def test_templated_scope_and_unknown_connection(env, tmp_path, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    table = table_name()
    write_postgres(pg_dsn(env["transform"]), table, subscribers())
    path = suite_file(
        tmp_path, {"connection": "transform_pg", "table": table}, {"connection": "no_such_conn", "table": table}
    )
    run = run_test(build_dag(path, cohort))
    states = task_states(run)
    assert states == {
        "mini_recon_1": "success",
        "gate_mini_recon_1": "failed",
        "load_stage": "upstream_failed",
        "recon_outcome": "failed",
    }
    assert run.state == "failed"
    results = rows(
        store_dsn,
        "SELECT check_name, status, message, batch_id FROM recon.check_result WHERE cohort_id = %s ORDER BY 1",
        cohort,
    )
    assert [(r[0], r[1], r[3]) for r in results] == [
        ("balance_total", "Error", "7"),
        ("subscriber_count", "Error", "7"),
    ]
    assert all("no_such_conn" in r[2] for r in results)
    assert rows(store_dsn, 'SELECT status FROM "Migration".log_table WHERE cohort_id = %s', cohort) == [("Failed",)]
    assert rows(
        store_dsn, "SELECT outcome, verdict FROM recon.gate_decision WHERE scope->>'cohort_id' = %s", cohort
    ) == [("Blocked", "Error")]
    summary = xcom(run, "mini_recon_1", "recon_summary")
    assert summary["errors"] == 2 and summary["scope"]["batch_id"] == "7"


def test_malformed_suite_fails_without_retry_and_is_logged(env, tmp_path, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    path = tmp_path / "broken.yaml"
    path.write_text("suite: mr1\nsource: {connection: transform_pg, table: t\n  checks: [")
    run = run_test(build_dag(path, cohort))
    states = task_states(run)
    assert states["mini_recon_1"] == "failed" and states["load_stage"] == "upstream_failed"
    assert run.state == "failed"
    logged = rows(store_dsn, 'SELECT status, error FROM "Migration".log_table WHERE cohort_id = %s', cohort)
    assert len(logged) == 1 and logged[0][0] == "Failed" and "broken.yaml line" in logged[0][1]
    assert rows(store_dsn, "SELECT count(*) FROM recon.check_result WHERE cohort_id = %s", cohort) == [(0,)]


def test_missing_table_is_an_error_result_not_a_crash(env, tmp_path, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    table = table_name()
    write_mariadb(env["stage"], table, subscribers())
    path = suite_file(
        tmp_path,
        {"connection": "transform_pg", "table": "no_such_table"},
        {"connection": "stage_mysql", "table": table},
    )
    run = run_test(build_dag(path, cohort))
    assert task_states(run)["load_stage"] == "upstream_failed" and run.state == "failed"
    messages = rows(store_dsn, "SELECT DISTINCT message FROM recon.check_result WHERE cohort_id = %s", cohort)
    assert len(messages) == 1 and 'relation "no_such_table" does not exist' in messages[0][0]
