"""Alerts really delivered: Slack to a loopback webhook receiver, SNS through moto into SQS."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from recon_operators.notifiers.alerts import GateAlert

pytestmark = pytest.mark.integration

MSISDN, IMSI, EMAIL = "6281234567890", "510101234567890", "john.doe@example.com"
WEBHOOK_TOKEN = "T000/B000/not-a-real-token"


class Receiver:
    """What the local webhook got: one (path, JSON body) per POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]


@pytest.fixture
def slack_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """An HTTP server on a free 127.0.0.1 port, wired up as the ``slack_alerts`` connection."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.requests.append((self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    # slack_sdk would route through an env proxy; the request must reach this receiver.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    # SlackWebhookHook builds the URL as f"{schema}://{host}/{password}".
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_ALERTS",
        json.dumps(
            {
                "conn_type": "slackwebhook",
                "host": f"127.0.0.1:{receiver.port}",
                "schema": "http",
                "password": WEBHOOK_TOKEN,
            }
        ),
    )
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)


def _alert() -> GateAlert:
    return GateAlert(
        dag_id="recon_cohort_C1",
        run_id="manual__2024-05-01",
        task_id="gate_mr1",
        cohort_id="C1",
        stage="mr1",
        scope={"env": "dev", "cohort_id": "C1", "stage": "mr1"},
        policy="stop",
        outcome="Blocked",
        verdict_status="Mismatch",
        failed_checks=[
            {
                "scope_key": "cohort_id=C1;env=dev;stage=mr1",
                "suite": "subscribers",
                "check_name": "row_count",
                "group_key": None,
                "expected": "1000",
                "actual": "998",
                "discrepancy": "-2",
                "status": "Mismatch",
                "message": f"missing {MSISDN} (imsi {IMSI}, {EMAIL})",
            }
        ],
        samples=[{"msisdn": MSISDN, "imsi": IMSI}],
        run_url="http://localhost:8080/dags/recon_cohort_C1/runs/manual__2024-05-01/tasks/gate_mr1",
    )


def _assert_no_pii(text: str) -> None:
    for secret in (MSISDN, IMSI, EMAIL, "not-a-real-token"):
        assert secret not in text


def test_send_slack_posts_the_masked_alert_to_the_webhook(slack_receiver: Receiver) -> None:
    from recon_operators.notifiers.slack import send_slack

    send_slack(_alert(), "slack_alerts")

    assert len(slack_receiver.requests) == 1
    path, body = slack_receiver.requests[0]
    assert path == f"/{WEBHOOK_TOKEN}"
    text = body["text"]
    assert "*Blocked*: cohort *C1*, stage *mr1*" in text
    assert "row_count" in text and "1000" in text and "998" in text and "-2" in text
    assert "msisdn=62812*******90" in text
    _assert_no_pii(json.dumps(body))


class _TaskInstance:
    dag_id, task_id, run_id = "recon_cohort_C1", "check_mr1", "scheduled__2024-05-01"
    log_url = "http://localhost:8080/dags/recon_cohort_C1/runs/scheduled__2024-05-01/tasks/check_mr1"

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        assert (task_ids, key) == ("check_mr1", "recon_summary")
        return {"verdict_status": "Mismatch", "failed_checks": _alert().failed_checks, "samples": [{"msisdn": MSISDN}]}


def _failure_context() -> dict[str, Any]:
    ti = _TaskInstance()
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": ti.run_id,
        "params": {"env": "dev", "cohort_id": "C1"},
        "dag_run": SimpleNamespace(conf={"stage": "mr1"}),
        "exception": RuntimeError(f"load failed at {MSISDN}: postgresql://recon:pw123@db/x"),
    }


def test_slack_notifier_as_failure_callback(slack_receiver: Receiver) -> None:
    from recon_operators.notifiers.slack import ReconSlackNotifier

    ReconSlackNotifier("slack_alerts")(_failure_context())

    ((_, body),) = slack_receiver.requests
    text = body["text"]
    assert "*Failed*: cohort *C1*, stage *mr1*" in text and "task `check_mr1`" in text
    assert "row_count" in text and "RuntimeError: load failed at 62812*******90" in text
    assert "postgresql://recon:***@db/x" in text and "pw123" not in text
    _assert_no_pii(json.dumps(body))


class _GateStopped(Exception):
    alerted = True  # a gate's stop: the gate sent its own, fuller alert


def test_slack_notifier_is_quiet_after_a_gates_own_alert(slack_receiver: Receiver) -> None:
    from recon_operators.notifiers.slack import ReconSlackNotifier

    ReconSlackNotifier("slack_alerts")({**_failure_context(), "exception": _GateStopped("gate Blocked")})
    assert slack_receiver.requests == []


@pytest.fixture
def sns_topic_and_queue(airflow_env: dict[str, str], moto_server: Any) -> Iterator[tuple[str, str]]:
    """A topic fanned out to an SQS queue, so the test can read what subscribers get."""
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic_arn = sns.create_topic(Name="recon-alerts-test")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="recon-alerts-test")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    try:
        yield topic_arn, queue_url
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sns.delete_topic(TopicArn=topic_arn)
        sqs.delete_queue(QueueUrl=queue_url)


def _received(moto_server: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = (
        moto_server.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        .get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def test_send_sns_publishes_subject_message_and_attributes(
    sns_topic_and_queue: tuple[str, str], moto_server: Any
) -> None:
    from recon_operators.notifiers.sns import send_sns

    topic_arn, queue_url = sns_topic_and_queue
    message_id = send_sns(_alert(), topic_arn)

    (envelope,) = _received(moto_server, queue_url)
    assert envelope["MessageId"] == message_id and envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == "[recon] Blocked: cohort C1 stage mr1 - 1 failed check"
    assert "row_count" in envelope["Message"] and "msisdn=62812*******90" in envelope["Message"]
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {"cohort": "C1", "stage": "mr1", "outcome": "Blocked"}
    _assert_no_pii(json.dumps(envelope))


def test_sns_notifier_as_failure_callback(sns_topic_and_queue: tuple[str, str], moto_server: Any) -> None:
    from recon_operators.notifiers.sns import ReconSnsNotifier

    topic_arn, queue_url = sns_topic_and_queue
    ReconSnsNotifier(topic_arn)({**_failure_context(), "exception": _GateStopped("gate Blocked")})  # sends nothing
    ReconSnsNotifier(topic_arn)(_failure_context())

    (envelope,) = _received(moto_server, queue_url)
    assert envelope["Subject"] == "[recon] Failed: cohort C1 stage mr1 - 1 failed check"
    assert "RuntimeError: load failed at 62812*******90" in envelope["Message"]
    assert envelope["MessageAttributes"]["outcome"]["Value"] == "Failed"
    _assert_no_pii(json.dumps(envelope))
