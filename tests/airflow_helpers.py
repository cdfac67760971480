"""Helpers for running DAGs built inside tests and for catching the alerts they send."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from recon_operators.demo.receiver import WebhookReceiver  # noqa: F401  (re-exported for tests)


def run_test(dag, **kwargs):
    """``dag.test()`` for a DAG built in a test: Airflow 3.3 only runs DAGs serialized in the
    metadata DB, so register it first as the DAG processor would (``dags-folder`` bundle)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test(**kwargs)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def xcom(run, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def sns_topic_with_queue(moto_server, name: str) -> tuple[str, str]:
    """An SNS topic fanned out to an SQS queue, so tests can read what was published."""
    sns, sqs = moto_server.client("sns"), moto_server.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue_url


def sns_messages(moto_server, queue_url: str) -> list[dict[str, Any]]:
    sqs = moto_server.client("sqs")
    out = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return out
        out.extend(json.loads(m["Body"]) for m in batch)


class _Approver:
    """Stands in for the logged-in UI user who answers a Human-in-the-loop request."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_id(self) -> str:
        return self.name

    def get_name(self) -> str:
        return self.name


_WAIT_FOR_PARKING_SECONDS = 1200.0  # how long a run may take to reach the gate


def answer_when_asked(
    dag_id: str, task_id: str, *, option: str | None, user: str = "owner@example.com", timeout: float = 60.0
) -> threading.Thread:
    """Answer the HITL request of ``task_id`` once it waits, as the UI/REST API would.

    ``option=None`` lets the request time out instead: the scheduler's timeout sweep is run
    once the deadline passed (``dag.test()`` has no scheduler of its own).
    """
    import logging
    import time
    from types import SimpleNamespace

    def respond() -> None:
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
        from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        # ``timeout`` counts from when the task parks: on a loaded machine the run may need minutes
        # to reach the gate, and a window counted from the thread's start could close before it.
        started, parked_at = time.monotonic(), None
        while time.monotonic() - started < _WAIT_FOR_PARKING_SECONDS:
            try:
                with create_session() as session:
                    ti = (
                        session.query(TaskInstance)
                        .filter_by(dag_id=dag_id, task_id=task_id, state=TaskInstanceState.AWAITING_INPUT)
                        .first()
                    )
                    if ti is not None:
                        parked_at = parked_at or time.monotonic()
                    if ti is not None and option is not None:
                        update_hitl_detail(
                            dag_id=dag_id,
                            dag_run_id=ti.run_id,
                            task_id=task_id,
                            update_hitl_detail_payload=UpdateHITLDetailPayload(
                                chosen_options=[option], params_input={}
                            ),
                            user=_Approver(user),
                            session=session,
                        )
                        return
                    if (
                        ti is not None
                        and ti.trigger_timeout is not None
                        and ti.trigger_timeout.timestamp() < time.time()
                    ):
                        SchedulerJobRunner.check_awaiting_input_timeouts(
                            SimpleNamespace(log=logging.getLogger("test-scheduler"))
                        )
                        return
            except Exception:
                logging.getLogger("test-approver").exception("answering the HITL request failed; retrying")
            if parked_at is not None and time.monotonic() - parked_at > timeout:
                break
            time.sleep(0.5)
        # Never leave dag.test() waiting forever: fail the parked task so the test fails loudly.
        with create_session() as session:
            for ti in session.query(TaskInstance).filter_by(
                dag_id=dag_id, task_id=task_id, state=TaskInstanceState.AWAITING_INPUT
            ):
                ti.state = TaskInstanceState.FAILED

    thread = threading.Thread(target=respond, daemon=True)
    thread.start()
    return thread


def query(dsn: str, sql: str, *params: Any) -> list[tuple]:
    """Rows of one read-only query against a Postgres database of the test session."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def asset_events(run) -> dict[str, dict[str, Any]]:
    """The asset events a DAG run emitted: asset URI -> the event's extra."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.uri, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == run.dag_id, AssetEvent.source_run_id == run.run_id)
        )
        return {uri: dict(extra) for uri, extra in rows}
