"""Each gate policy through ``dag.test()``: downstream task states, the run's state, the ledger
rows and the alerts received by a local webhook receiver and by moto SNS."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
import yaml

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn
from tests.airflow_helpers import (
    WebhookReceiver,
    answer_when_asked,
    run_test,
    sns_messages,
    sns_topic_with_queue,
    task_states,
    xcom,
)
from tests.integration.recon_data import faulted, subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.dags


@pytest.fixture
def receiver(monkeypatch):
    server = WebhookReceiver()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", server.airflow_conn())
    yield server
    server.close()


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MYSQL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}")
    return databases


def write_suite(tmp_path: Path, table: str) -> Path:
    suite = {
        "suite": "subscribers_mr2",
        "stage": "mini_recon_2",
        "source": {"connection": "transform_pg", "table": table, "filter": "cohort_id = :cohort_id"},
        "target": {"connection": "stage_mysql", "table": table, "filter": "cohort_id = :cohort_id"},
        "normalise": {"balance": {"type": "decimal", "scale": 2}, "status": {"trim": True}},
        "checks": [
            {"name": "subscriber_count", "kind": "row_count"},
            {"name": "balance_total", "kind": "sum", "column": "balance"},
            {"name": "count_by_status", "kind": "row_count", "group_by": ["status"]},
        ],
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def build_dag(policy: str, suite_path: Path, cohort: str, topic_arn: str, approval_timeout=None):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.check import ReconCheckOperator
    from recon_operators.operators.gate import ReconRunOutcomeOperator

    scope = {"env": "test", "cohort_id": cohort}
    with DAG(
        dag_id=f"gate_{policy}_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests"},
        tags=["test"],
    ) as dag:
        check = ReconCheckOperator(task_id="mini_recon_2", suite_path=str(suite_path), scope=scope)
        gate = build_gate(
            "gate_mini_recon_2",
            policy,
            scope=scope,
            suite="subscribers_mr2",
            stage="mini_recon_2",
            slack_conn_id="slack_alerts",
            sns_topic_arn=topic_arn,
            approval_timeout=approval_timeout,
        )
        load_target = EmptyOperator(task_id="load_target")
        after = EmptyOperator(task_id="mini_recon_3")
        outcome = ReconRunOutcomeOperator(task_id="recon_outcome", gate_task_ids=["gate_mini_recon_2"])
        check >> gate >> load_target >> after >> outcome
    return dag


def load_data(databases, table: str, cohort: str, *, fault: bool) -> None:
    rows = [{**r, "cohort_id": cohort} for r in subscribers()]
    write_postgres(pg_dsn(databases["transform"]), table, rows)
    write_mariadb(databases["stage"], table, faulted(rows, amount=(3, "0.01"), status=(4, "ACTIVE")) if fault else rows)


def ledger(store_dsn: str, cohort: str) -> dict:
    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT policy, verdict, outcome FROM recon.gate_decision WHERE scope->>'cohort_id' = %s", (cohort,)
            )
            decisions = cur.fetchall()
            cur.execute(
                "SELECT check_name, group_key, status, expected, actual, discrepancy FROM recon.check_result"
                " WHERE cohort_id = %s ORDER BY 1, 2",
                (cohort,),
            )
            results = cur.fetchall()
            cur.execute('SELECT status, error FROM "Migration".log_table WHERE cohort_id = %s', (cohort,))
            runs = cur.fetchall()
    finally:
        conn.close()
    return {"decisions": decisions, "results": results, "runs": runs}


@pytest.fixture
def scenario(env, tmp_path, moto_server, receiver):
    def make(policy: str, *, fault: bool, answer: str | None = "", approval_timeout=None):
        cohort = f"C{uuid.uuid4().hex[:8]}"
        table = table_name()
        load_data(env, table, cohort, fault=fault)
        topic, queue = sns_topic_with_queue(moto_server, f"alerts-{cohort}")
        dag = build_dag(policy, write_suite(tmp_path, table), cohort, topic, approval_timeout)
        if answer != "":
            answer_when_asked(dag.dag_id, "gate_mini_recon_2", option=answer)
        run = run_test(dag)
        return {"run": run, "cohort": cohort, "states": task_states(run), "queue": queue}

    return make


def test_clean_data_passes_every_gate_and_sends_nothing(scenario, store_dsn, receiver, moto_server):
    s = scenario("stop", fault=False)
    assert s["run"].state == "success"
    assert set(s["states"].values()) == {"success"}
    book = ledger(store_dsn, s["cohort"])
    assert book["decisions"] == [("stop", "Match", "Passed")]
    assert {status for _, _, status, *_ in book["results"]} == {"Match"}
    assert book["runs"] == [("Passed", None)]
    assert receiver.bodies == [] and sns_messages(moto_server, s["queue"]) == []


def test_stop_fails_the_gate_so_it_is_what_stopped_the_run(scenario, store_dsn, receiver, moto_server):
    s = scenario("stop", fault=True)
    # The gate is the red box; the loads after it never run; the outcome task names the gate.
    assert s["states"] == {
        "mini_recon_2": "success",
        "gate_mini_recon_2": "failed",
        "load_target": "upstream_failed",
        "mini_recon_3": "upstream_failed",
        "recon_outcome": "failed",
    }
    assert s["run"].state == "failed"
    book = ledger(store_dsn, s["cohort"])
    assert book["decisions"] == [("stop", "Mismatch", "Blocked")]
    mismatches = {
        (name, group): (expected, actual, discrepancy)
        for name, group, status, expected, actual, discrepancy in book["results"]
        if status == "Mismatch"
    }
    assert mismatches[("balance_total", None)][2] == __import__("decimal").Decimal("0.01")
    assert mismatches[("count_by_status", "ACTIVE")][2] == 1
    assert mismatches[("count_by_status", "SUSPENDED")][2] == -1
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert "Blocked" in text and s["cohort"] in text and "balance_total" in text
    messages = sns_messages(moto_server, s["queue"])
    assert len(messages) == 1 and "Blocked" in messages[0]["Subject"]
    assert messages[0]["MessageAttributes"]["outcome"]["Value"] == "Blocked"
    gate = xcom(s["run"], "gate_mini_recon_2", "gate_outcome")
    assert gate["outcome"] == "Blocked" and gate["status"] == "Mismatch"


def test_fail_fails_the_gate_without_retry(scenario, store_dsn, receiver, moto_server):
    s = scenario("fail", fault=True)
    assert s["states"]["gate_mini_recon_2"] == "failed"
    assert s["states"]["load_target"] == "upstream_failed"
    assert s["run"].state == "failed"
    assert ledger(store_dsn, s["cohort"])["decisions"] == [("fail", "Mismatch", "Failed")]
    assert len(receiver.bodies) == 1 and len(sns_messages(moto_server, s["queue"])) == 1


def test_warn_continues_and_alerts(scenario, store_dsn, receiver, moto_server):
    s = scenario("warn", fault=True)
    assert s["run"].state == "success"
    assert s["states"]["load_target"] == "success" and s["states"]["recon_outcome"] == "success"
    assert ledger(store_dsn, s["cohort"])["decisions"] == [("warn", "Mismatch", "Warned")]
    assert len(receiver.bodies) == 1 and "Warned" in receiver.bodies[0]["text"]
    assert len(sns_messages(moto_server, s["queue"])) == 1


def test_alerts_never_carry_pii_or_secrets(scenario, receiver, moto_server):
    s = scenario("stop", fault=True)
    everything = str(receiver.bodies) + str(sns_messages(moto_server, s["queue"]))
    assert "not-a-secret" not in everything
    assert "62811000000" not in everything  # no full MSISDN in any sample


def _approver_rows(store_dsn: str, cohort: str) -> list[tuple]:
    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT outcome, decided_by, summary ? 'responded_at' FROM recon.gate_decision"
                " WHERE scope->>'cohort_id' = %s",
                (cohort,),
            )
            return cur.fetchall()
    finally:
        conn.close()


def test_approve_policy_passes_a_clean_scope_without_asking(scenario, store_dsn):
    s = scenario("approve", fault=False)
    assert s["run"].state == "success" and s["states"]["load_target"] == "success"
    assert ledger(store_dsn, s["cohort"])["decisions"] == [("approve", "Match", "Passed")]


def test_approved_mismatch_continues_and_records_the_approver(scenario, store_dsn, receiver):
    s = scenario("approve", fault=True, answer="Approve")
    assert s["run"].state == "success"
    assert s["states"]["load_target"] == "success" and s["states"]["recon_outcome"] == "success"
    assert _approver_rows(store_dsn, s["cohort"]) == [("Approved", "owner@example.com", True)]
    assert any("AwaitingApproval" in body["text"] for body in receiver.bodies)


def test_rejected_mismatch_stops_the_scope(scenario, store_dsn):
    s = scenario("approve", fault=True, answer="Reject")
    assert s["states"]["gate_mini_recon_2"] == "failed" and s["states"]["load_target"] == "upstream_failed"
    assert s["states"]["recon_outcome"] == "failed"
    assert s["run"].state == "failed"
    assert _approver_rows(store_dsn, s["cohort"]) == [("Rejected", "owner@example.com", True)]


def test_unanswered_approval_times_out_and_stops(scenario, store_dsn):
    s = scenario("approve", fault=True, answer=None, approval_timeout=timedelta(seconds=2))
    assert s["states"]["gate_mini_recon_2"] == "failed" and s["states"]["load_target"] == "upstream_failed"
    assert s["run"].state == "failed"
    assert [row[:2] for row in _approver_rows(store_dsn, s["cohort"])] == [("TimedOut", None)]


def test_a_failing_check_task_alerts_through_the_failure_callback(env, receiver, moto_server, tmp_path):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.notifiers.slack import ReconSlackNotifier
    from recon_operators.notifiers.sns import ReconSnsNotifier
    from recon_operators.operators.check import ReconCheckOperator

    cohort = f"C{uuid.uuid4().hex[:8]}"
    topic, queue = sns_topic_with_queue(moto_server, f"fail-{cohort}")
    with DAG(
        dag_id=f"failing_check_{cohort}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        tags=["test"],
        params={"cohort_id": cohort, "msisdn_start": "6281234567890"},
        default_args={
            "owner": "tests",
            "retries": 0,
            "on_failure_callback": [ReconSlackNotifier("slack_alerts"), ReconSnsNotifier(topic)],
        },
    ) as dag:
        ReconCheckOperator(
            task_id="mini_recon_1",
            suite_path=str(tmp_path / "missing.yaml"),
            scope={"env": "test", "cohort_id": "{{ params.cohort_id }}", "msisdn_start": "{{ params.msisdn_start }}"},
        ) >> EmptyOperator(task_id="load")
    run = run_test(dag)
    assert run.state == "failed" and task_states(run)["mini_recon_1"] == "failed"
    assert len(receiver.bodies) == 1
    text = receiver.bodies[0]["text"]
    assert "Failed" in text and cohort in text and "missing.yaml" in text
    assert "6281234567890" not in text  # the scope's MSISDN is masked
    messages = sns_messages(moto_server, queue)
    assert len(messages) == 1 and messages[0]["MessageAttributes"]["outcome"]["Value"] == "Failed"
