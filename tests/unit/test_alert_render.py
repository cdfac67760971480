"""Alert rendering: says what differs, stays short, and never leaks PII or secrets."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from recon_operators.notifiers.alerts import (
    MAX_SUBJECT,
    MAX_TEXT,
    GateAlert,
    alert_from_context,
    render_subject,
    render_text,
)

MSISDN, IMSI, EMAIL, PASSWORD = "6281234567890", "510101234567890", "john.doe@example.com", "hunter2xyz"
_LEAKS = re.compile(r"(?<!\d)\d{10,}(?!\d)")


def _check(name: str, expected: Any, actual: Any, discrepancy: Any, **extra: Any) -> dict[str, Any]:
    return {
        "scope_key": "cohort_id=C1;env=dev;stage=mr1",
        "suite": "subscribers",
        "check_name": name,
        "group_key": None,
        "expected": expected,
        "actual": actual,
        "discrepancy": discrepancy,
        "status": "Mismatch",
        "message": None,
        **extra,
    }


def _alert(**overrides: Any) -> GateAlert:
    values: dict[str, Any] = dict(
        dag_id="recon_cohort_C1",
        run_id="manual__2024-05-01T10:00:00+00:00",
        task_id="gate_mr1",
        cohort_id="C1",
        stage="mr1",
        scope={"env": "dev", "cohort_id": "C1", "stage": "mr1"},
        policy="stop",
        outcome="Blocked",
        verdict_status="Mismatch",
        failed_checks=[
            _check("row_count", 1000, 998, -2),
            _check("sum_balance", "1500.25", "1490.25", "-10.00", group_key="ACTIVE"),
        ],
        samples=[{"msisdn": MSISDN}],
        run_url="http://localhost:8080/dags/recon_cohort_C1/runs/x/tasks/gate_mr1",
    )
    values.update(overrides)
    return GateAlert(**values)


def _assert_clean(text: str) -> None:
    for secret in (MSISDN, IMSI, EMAIL, PASSWORD, "john.doe"):
        assert secret not in text
    assert not _LEAKS.search(text), _LEAKS.search(text)


def test_render_says_outcome_scope_and_expected_actual_discrepancy() -> None:
    text = render_text(_alert())
    assert text.splitlines()[0].startswith(":rotating_light: *Blocked*: cohort *C1*, stage *mr1*")
    assert "policy `stop`" in text and "verdict *Mismatch*" in text
    assert "env=dev" in text and "task `gate_mr1`" in text
    assert "expected" in text and "actual" in text and "discrepancy" in text
    row = next(line for line in text.splitlines() if line.startswith("row_count"))
    assert row.split() == ["row_count", "-", "1000", "998", "-2", "Mismatch"]
    row = next(line for line in text.splitlines() if line.startswith("sum_balance"))
    assert row.split() == ["sum_balance", "ACTIVE", "1500.25", "1490.25", "-10.00", "Mismatch"]
    assert "msisdn=62812*******90" in text
    assert "<http://localhost:8080/dags/recon_cohort_C1/runs/x/tasks/gate_mr1|Open the run in Airflow>" in text
    assert text.count("```") == 2
    _assert_clean(text)


def test_error_checks_show_their_message() -> None:
    check = _check("orders_count", None, None, None, status="Error", message="relation orders does not exist")
    text = render_text(_alert(failed_checks=[check]))
    assert "↳ relation orders does not exist" in text


def test_render_caps_length_and_says_how_many_more() -> None:
    checks = [
        _check(f"per_group_count_{i:03d}", 100000 + i, 99000 + i, -1000, group_key=f"PLAN_{i}") for i in range(200)
    ]
    samples = [{"msisdn": f"62812{i:08d}"} for i in range(50)]
    text = render_text(_alert(failed_checks=checks, samples=samples, error="x" * 5000))
    assert len(text) <= MAX_TEXT
    assert "*Failed checks (200):*" in text
    shown = sum(line.startswith("per_group_count_") for line in text.splitlines())
    assert 0 < shown <= 15
    assert f"_... {200 - shown} more failed checks not shown_" in text
    assert "5 of 50" in text
    assert text.count("```") == 2
    _assert_clean(text)


def test_a_table_that_does_not_fit_its_budget_is_cut_short() -> None:
    checks = [_check("c" * 60 + str(i), "9" * 40, "8" * 40, "1" * 40) for i in range(15)]
    text = render_text(_alert(failed_checks=checks), limit=1200)
    assert len(text) <= 1200
    assert "more failed checks not shown_" in text


def test_pii_and_passwords_never_leak_from_messages_scope_samples_or_errors() -> None:
    checks = [
        _check(
            f"missing_{MSISDN}", MSISDN, IMSI, None, group_key=EMAIL, message=f"row {MSISDN} imsi {IMSI} owner {EMAIL}"
        ),
        _check(
            "conn",
            None,
            None,
            None,
            status="Error",
            message=f"could not connect to postgresql://recon:{PASSWORD}@db/store password={PASSWORD}",
        ),
    ]
    alert = _alert(
        cohort_id=f"C{MSISDN}",
        stage=EMAIL,
        scope={"env": "dev", "msisdn_start": MSISDN, "note": f"owner {EMAIL} token={PASSWORD}"},
        failed_checks=checks,
        samples=[
            {"msisdn": MSISDN, "imsi": IMSI, "email": EMAIL},
            {"external_operator_number": "+" + MSISDN, "contact": f"call {MSISDN}"},
        ],
        error=f"OperationalError: mysql://root:{PASSWORD}@127.0.0.1/x while loading {MSISDN}",
        run_url=f"http://localhost:8080/dags/x/runs/{MSISDN}?token={PASSWORD}",
    )
    text, subject = render_text(alert), render_subject(alert)
    _assert_clean(text)
    _assert_clean(subject)
    assert "62812*******90" in text and "51010*******90" in text and "j***@example.com" in text
    assert "postgresql://recon:***@db/store" in text and "password=***" in text


def test_slack_control_characters_are_escaped() -> None:
    check = _check("rule <a & b>", "`x`", None, None)
    text = render_text(_alert(failed_checks=[check]))
    assert "rule &lt;a &amp; b&gt;" in text
    assert text.count("```") == 2


def test_subject_is_one_short_ascii_line() -> None:
    assert render_subject(_alert()) == "[recon] Blocked: cohort C1 stage mr1 - 2 failed checks"
    long = render_subject(_alert(cohort_id="C" * 300, stage="étape\nline"))
    assert len(long) <= MAX_SUBJECT and "\n" not in long and long.isascii()
    assert render_subject(_alert(failed_checks=[], verdict_status=None, outcome="Failed")).endswith("task failed")


class _TaskInstance:
    dag_id, task_id, run_id = "recon_cohort_C1", "check_mr1", "scheduled__2024-05-01"
    log_url = "http://localhost:8080/dags/recon_cohort_C1/runs/scheduled__2024-05-01/tasks/check_mr1"

    def __init__(self, summary: Any) -> None:
        self.summary = summary
        self.pulled: list[tuple[Any, str]] = []

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        self.pulled.append((task_ids, key))
        if isinstance(self.summary, Exception):
            raise self.summary
        return self.summary


def test_alert_from_context_reads_scope_and_the_recon_summary() -> None:
    ti = _TaskInstance(
        {
            "failed_checks": [_check("row_count", 10, 9, -1)],
            "verdict_status": "Mismatch",
            "samples": [{"msisdn": MSISDN}],
            "policy": "fail",
        }
    )
    context = {
        "ti": ti,
        "run_id": ti.run_id,
        "params": {"env": "dev", "cohort_id": "C1", "db_password": "x"},
        "dag_run": SimpleNamespace(conf={"stage": "mr1"}),
        "exception": ValueError("boom"),
    }
    alert = alert_from_context(context)
    assert ti.pulled == [("check_mr1", "recon_summary")]
    assert (alert.dag_id, alert.run_id, alert.task_id) == ("recon_cohort_C1", ti.run_id, "check_mr1")
    assert alert.scope == {"env": "dev", "cohort_id": "C1", "stage": "mr1"}
    assert (alert.cohort_id, alert.stage, alert.policy, alert.verdict_status) == ("C1", "mr1", "fail", "Mismatch")
    assert alert.failed_checks[0]["check_name"] == "row_count" and alert.samples == [{"msisdn": MSISDN}]
    assert alert.error == "ValueError: boom" and alert.run_url == ti.log_url


def test_alert_from_context_survives_a_failing_xcom_read() -> None:
    alert = alert_from_context({"ti": _TaskInstance(RuntimeError("api down")), "exception": "plain text"})
    assert alert.failed_checks == [] and alert.error == "plain text" and alert.dag_id == "recon_cohort_C1"


def test_alert_from_context_names_a_mapped_tasks_batch_and_its_hop():
    ti = _TaskInstance({})
    ti.task_id, ti.map_index = "mini_recon_2__report", 1
    task = SimpleNamespace(
        task_group=SimpleNamespace(group_id="mini_recon_2"),
        scope={"env": "dev", "cohort_id": "C1", "prefix_id": "P62811", "batch_id": "B002", "msisdn_start": MSISDN},
    )
    alert = alert_from_context({"ti": ti, "task": task, "params": {"batch_ids": []}}, scope={"env": "dev"})
    assert (alert.cohort_id, alert.stage, alert.task_id) == ("C1", "mini_recon_2", "mini_recon_2__report[1]")
    text, subject = render_text(alert), render_subject(alert)
    assert text.splitlines()[0].endswith("cohort *C1*, stage *mini_recon_2*, batch *P62811/B002*")
    assert subject == "[recon] Failed: cohort C1 stage mini_recon_2 batch P62811/B002 - task failed"
    _assert_clean(text)


def test_a_gates_own_stop_is_not_alerted_twice():
    from recon_operators.notifiers.alerts import already_alerted

    class Stopped(Exception):
        alerted = True

    assert already_alerted({"exception": Stopped("gate Blocked")})
    assert not already_alerted({"exception": ValueError("boom")}) and not already_alerted({})
