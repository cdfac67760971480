"""Keep each subscriber job in step with its DAG run: a listener on run state changes.

* the run starts -> the job exists: PENDING when it waits for a named input file (a run
  triggered with ``input_key``), QUEUED for audits and exports (its first task makes it RUNNING);
  a file job's run that waits for whatever lands next is not a job until a file is claimed;
* the run succeeds -> COMPLETED;
* the run fails -> FAILED with the reason (a failed or timed-out task, the run's timeout);
  a run a user marked failed (REST API ``PATCH .../dagRuns/{run_id} {"state": "failed"}`` or the
  UI) -> CANCELLED, and that stands whatever its killed tasks report afterwards.

Listeners run inside the scheduler and the api-server: nothing here may raise (a store that
cannot be reached is logged) and non-subscriber DAGs cost a string check.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from recon_operators.engine.masking import scrub
from recon_operators.errors import one_line
from recon_operators.subscribers.config import FILE_JOBS, job_type_of

log = logging.getLogger(__name__)
MANUAL_FAILURE = "manually set"  # Airflow's message when a user sets a run's state through the API or UI


def _store() -> Any:
    from recon_operators.hooks.subscribers import job_store
    from recon_operators.subscribers.config import load_subscriber_config

    return job_store(load_subscriber_config())


def _failed_tasks(dag_run: Any) -> list[str]:
    try:
        from airflow.utils.state import TaskInstanceState

        return sorted({ti.task_id for ti in dag_run.get_task_instances(state=[TaskInstanceState.FAILED])})
    except Exception:  # noqa: BLE001 - a detail of the message, never a reason to fail
        return []


def _safely(what: str, dag_run: Any, action: Any) -> None:
    try:
        store = _store()
        try:
            action(store)
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - a listener must never break the scheduler or the API
        log.warning(
            "subscriber job of %s/%s: %s failed: %s", dag_run.dag_id, dag_run.run_id, what, scrub(one_line(exc))
        )


@hookimpl
def on_dag_run_running(dag_run: Any, msg: str) -> None:
    job_type = job_type_of(dag_run.dag_id)
    conf = dict(dag_run.conf or {})
    if job_type is None or (job_type in FILE_JOBS and not conf.get("input_key")):
        return
    from recon_operators.subscribers.jobs import JOB_TYPES

    status = "PENDING" if job_type in FILE_JOBS else "QUEUED"
    # The named file is only requested (it is claimed into the job's folder by open_job): the conf,
    # input_key included, is what the job shows until then.
    _safely(
        "announcing",
        dag_run,
        lambda store: store.announce(
            job_type=JOB_TYPES[job_type], job_status=status, dag_id=dag_run.dag_id, run_id=dag_run.run_id, filters=conf
        ),
    )


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    if job_type_of(dag_run.dag_id) is not None:
        _safely(
            "completing",
            dag_run,
            lambda store: store.end(dag_id=dag_run.dag_id, run_id=dag_run.run_id, job_status="COMPLETED"),
        )


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    if job_type_of(dag_run.dag_id) is None:
        return
    if MANUAL_FAILURE in (msg or ""):
        status, error = "CANCELLED", "cancelled: the run was marked failed by a user (REST API or UI)"
    else:
        failed = _failed_tasks(dag_run)
        status, error = "FAILED", f"{msg or 'failed'}" + (f": {', '.join(failed)} failed" if failed else "")
    _safely(
        "ending",
        dag_run,
        lambda store: store.end(dag_id=dag_run.dag_id, run_id=dag_run.run_id, job_status=status, error=error),
    )
