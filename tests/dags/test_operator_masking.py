"""What the operators leave behind holds no secret and no subscriber data: XCom summaries, gate
decisions, run errors, rendered template fields and the line a failed task ends with."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
import yaml

from recon_operators.demo.services import PG_HOST, PG_PORT, PG_USER, pg_dsn
from tests.airflow_helpers import query, run_test, task_states, xcom
from tests.dags.test_check_operator import env  # noqa: F401 - the same fixture: store and stage connections
from tests.integration.recon_data import faulted, subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.dags

PASSWORD = "Pw/with#odd?chars@and%"  # trust auth ignores it; a leak of it is what is tested


def _check_dag(suite_path, cohort: str):
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.check import ReconCheckOperator

    scope = {"env": "test", "cohort_id": cohort, "batch_id": "1"}
    with DAG(
        dag_id=f"mask_check_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests", "retries": 0},
        tags=["test"],
    ) as dag:
        check = ReconCheckOperator(task_id="check", suite_path=str(suite_path), scope=scope, stage="mini_recon_1")
        check >> build_gate("gate", "warn", scope=scope, stage="mini_recon_1")
    return dag


def _raw_pii(rows) -> list[str]:
    numbers = [r["msisdn"] for r in rows] + [r["email"] for r in rows if r["email"]]
    return [n for n in numbers]


def test_check_xcom_gate_decision_and_run_error_hold_no_raw_subscriber_data(env, tmp_path, store_dsn):
    """A min/max of MSISDNs that differ, a check grouped by e-mail and a side whose read fails with
    an MSISDN in the driver's message: the ledger keeps the values it needs, nothing else does."""
    cohort = f"C{uuid.uuid4().hex[:8]}"
    table = table_name()
    rows = subscribers(12)
    write_postgres(pg_dsn(env["transform"]), table, rows)
    write_mariadb(env["stage"], table, faulted(faulted(rows, drop=1), drop=0))
    path = tmp_path / "pii.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "suite": "pii",
                "source": {"connection": "transform_pg", "table": table},
                "target": {"connection": "stage_mysql", "table": table},
                "checks": [
                    {"name": "first_msisdn", "kind": "min", "column": "msisdn"},
                    {"name": "per_email", "kind": "row_count", "group_by": "email"},
                    {"name": "broken", "kind": "rule", "source": "SUM(CAST(msisdn AS integer))", "target": "SUM(1)"},
                ],
            }
        )
    )
    run = run_test(_check_dag(path, cohort))
    assert task_states(run) == {"check": "success", "gate": "success"}
    summary = xcom(run, "check", "recon_summary")
    decision = query(store_dsn, "SELECT summary FROM recon.gate_decision WHERE scope->>'cohort_id' = %s", cohort)
    logged = query(store_dsn, 'SELECT error FROM "Migration".log_table WHERE cohort_id = %s', cohort)
    messages = query(
        store_dsn, "SELECT message FROM recon.check_result WHERE cohort_id = %s AND message IS NOT NULL", cohort
    )
    assert {c["check_name"] for c in summary["failed_checks"]} >= {"first_msisdn", "per_email", "broken"}
    assert "out of range" in logged[0][0] and any("out of range" in m[0] for m in messages)
    shown = json.dumps([summary, decision, logged, messages], default=str)
    assert "62811*******" in shown and "***@example.com" in shown
    for raw in _raw_pii(rows):
        assert raw not in shown, raw


def test_row_diff_url_password_never_reaches_rendered_fields_logs_or_ledger(env, store_dsn, capsys):
    from airflow.sdk import DAG

    from recon_operators.operators.row_diff import RowDiffOperator

    cohort = f"C{uuid.uuid4().hex[:8]}"
    table = table_name()
    write_postgres(pg_dsn(env["transform"]), table, subscribers(5))
    encoded = (
        PASSWORD.replace("%", "%25").replace("/", "%2F").replace("#", "%23").replace("?", "%3F").replace("@", "%40")
    )
    source = f"postgresql://{PG_USER}:{PASSWORD}@{PG_HOST}:{PG_PORT}/{env['transform']}?table={table}"
    target = f"postgresql://{PG_USER}:{encoded}@{PG_HOST}:{PG_PORT}/{env['transform']}?table=no_such_table"
    with DAG(
        dag_id=f"mask_diff_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests", "retries": 0},
        tags=["test"],
    ) as dag:
        RowDiffOperator(
            task_id="row_diff",
            source="{{ params.source }}",
            target=target,
            key="msisdn",
            scope={"env": "test", "cohort_id": cohort},
            diff_name="masked",
            params={"source": source},
        )
    run = run_test(dag)
    assert task_states(run) == {"row_diff": "success"}
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rendered = session.query(RenderedTaskInstanceFields).filter_by(dag_id=dag.dag_id).one().rendered_fields
    ledger = query(store_dsn, "SELECT message, source, target FROM recon.check_result WHERE cohort_id = %s", cohort)
    assert "no_such_table" in ledger[0][0]
    shown = json.dumps([rendered, ledger], default=str) + capsys.readouterr().out
    assert f"{PG_USER}:***@" in json.dumps(rendered)
    for secret in (PASSWORD, encoded):
        assert secret not in shown


def test_bad_diff_input_fails_the_task_with_the_line_the_cli_prints(env, store_dsn):
    from airflow.sdk import DAG

    from recon_operators.engine.rowdiff.model import DiffError
    from recon_operators.errors import error_line
    from recon_operators.operators.row_diff import RowDiffOperator

    cohort = f"C{uuid.uuid4().hex[:8]}"
    with DAG(
        dag_id=f"bad_diff_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests", "retries": 3},
        tags=["test"],
    ) as dag:
        RowDiffOperator(
            task_id="row_diff",
            source={"conn_id": "transform_pg", "table": "t"},
            target={"conn_id": "stage_mysql", "table": "t"},
            key="msisdn",
            tolerances={"balance": "inf"},
            scope={"env": "test", "cohort_id": cohort},
            diff_name="bad",
        )
    run = run_test(dag)
    assert task_states(run) == {"row_diff": "failed"}  # 3 retries allowed, none taken: bad input
    logged = query(store_dsn, 'SELECT status, error FROM "Migration".log_table WHERE cohort_id = %s', cohort)
    expected = error_line(DiffError("tolerance 'inf' must be a finite number (inf or nan would pass every value)"))
    assert logged == [("Failed", expected)]


def test_a_file_side_connection_secret_never_reaches_the_ledger(env, tmp_path, store_dsn):
    """A file side may name its S3 credentials as a URL; its description lands in
    ``recon.check_result.source`` with the secret hidden."""
    from tests.integration.recon_data import write_csv

    cohort = f"C{uuid.uuid4().hex[:8]}"
    secret = "wJalrXUtnFEMIbPxRfiCYEXAMPLEKEY"
    data = write_csv(tmp_path / "subs.csv", subscribers(4))
    path = tmp_path / "files.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "suite": "files",
                "checks": [{"name": "n", "kind": "row_count"}],
                "source": {"path": str(data), "connection": f"aws://AKIAEXAMPLE:{secret}@/?region_name=us-east-1"},
                "target": {"path": str(data)},
            }
        )
    )
    run = run_test(_check_dag(path, cohort))
    assert task_states(run)["check"] == "success"
    stored = query(store_dsn, "SELECT source::text, status FROM recon.check_result WHERE cohort_id = %s", cohort)
    assert stored[0][1] == "Match" and "AKIAEXAMPLE:***@" in stored[0][0] and secret not in stored[0][0]
