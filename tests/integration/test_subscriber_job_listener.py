"""The run listener keeps the job table in step: announced, ended, cancelled (and a cancel stands)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from recon_operators.listeners import subscriber_jobs as listener
from tests.airflow_helpers import query
from tests.integration.subscribers_world import job_store  # noqa: F401 - pytest fixtures, used as test parameters

pytestmark = pytest.mark.integration
CANCEL_MESSAGE = "Dag Run's state was manually set to `failed`."  # what the REST API / UI pass to listeners


@pytest.fixture
def store_env(store_dsn, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    return store_dsn


def run(job_type: str, **conf):
    return SimpleNamespace(
        dag_id=f"subscriber_l{uuid.uuid4().hex[:6]}_{job_type}",
        run_id="manual__1",
        conf=conf,
        get_task_instances=lambda state=None: [SimpleNamespace(task_id="load_chunk")],
    )


def status(dsn: str, dag_run) -> list[tuple]:
    return query(
        dsn,
        "SELECT job_type, job_status, filters->>'input_key', error FROM recon.subscriber_job "
        "WHERE dag_id = %s AND run_id = %s",
        dag_run.dag_id,
        dag_run.run_id,
    )


def test_the_listener_is_registered_by_the_plugin():
    from airflow.listeners.listener import get_listener_manager

    names = {getattr(p, "__name__", "") for p in get_listener_manager().pm.get_plugins()}
    assert "recon_operators.listeners.subscriber_jobs" in names


def test_runs_that_start_announce_their_job(store_env):
    audit, named, waiting = (
        run("audit"),
        run("migration", input_key="subscribers/migration/incoming/a.csv"),
        run("migration"),
    )
    for dag_run in (audit, named, waiting, SimpleNamespace(dag_id="recon_cohort_A", run_id="x", conf={})):
        listener.on_dag_run_running(dag_run=dag_run, msg="")
    assert status(store_env, audit) == [("AUDIT", "QUEUED", None, None)]
    assert status(store_env, named) == [("MIGRATION", "PENDING", "subscribers/migration/incoming/a.csv", None)]
    assert status(store_env, waiting) == []  # waiting for whatever lands: not a job yet


def test_a_requested_file_is_still_claimed_when_the_job_opens(store_env, job_store):
    """The announced job only names the file it asked for; open_job must still move it out of
    incoming/ (else its rejects file, written next to it, would land as a new job)."""
    named = run("migration", input_key="subscribers/migration/incoming/b.csv")
    listener.on_dag_run_running(dag_run=named, msg="")
    handle = job_store.open(job_type="MIGRATION", dag_id=named.dag_id, run_id=named.run_id, mode="DUAL_PROV")
    assert handle.input_file_key is None
    assert status(store_env, named)[0][1] == "RUNNING"


def test_a_cancel_stands_until_the_job_is_reopened(store_env, job_store):
    dag_run = run("export")
    job_store.open(job_type="EXPORT", dag_id=dag_run.dag_id, run_id=dag_run.run_id, mode="CLOUD")
    listener.on_dag_run_failed(dag_run=dag_run, msg=CANCEL_MESSAGE)
    listener.on_dag_run_success(dag_run=dag_run, msg="success")  # what its killed tasks' run may report after
    listener.on_dag_run_failed(dag_run=dag_run, msg="task_failure")
    (row,) = status(store_env, dag_run)
    assert row[1] == "CANCELLED" and row[3].startswith("cancelled")
    job_store.open(job_type="EXPORT", dag_id=dag_run.dag_id, run_id=dag_run.run_id, mode="CLOUD")  # cleared, reruns
    listener.on_dag_run_failed(dag_run=dag_run, msg="timed_out")
    assert status(store_env, dag_run) == [("EXPORT", "FAILED", None, "timed_out: load_chunk failed")]


def test_an_unreachable_store_never_breaks_the_caller(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", "postgresql://nobody@127.0.0.1:1/none")
    listener.on_dag_run_success(dag_run=run("audit"), msg="success")  # logged, not raised
