"""The deferrable ledger sensor end to end: real Postgres store, ``dag.test()`` running the trigger.

``dag.test()`` in Airflow 3.3 runs a deferred task's trigger in-process (``_run_task`` ->
``InProcessTestSupervisor.run_trigger_in_process``) and resumes the task with its event, so these
tests exercise defer -> trigger -> ``execute_complete`` as the triggerer would.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from decimal import Decimal

import pytest

from recon_operators.engine.results import CheckResult, Status
from recon_operators.engine.scope import Scope
from recon_operators.store import ResultsStore

pytestmark = pytest.mark.dags

SUITE = "mini_recon_1"


@pytest.fixture
def store_env(store_dsn, airflow_db, monkeypatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    return store_dsn


@pytest.fixture
def cohort() -> str:
    """A cohort of this test's own, so tests sharing the session store never collide."""
    return f"C{uuid.uuid4().hex[:8]}"


def parent(cohort: str) -> dict[str, str]:
    return {"env": "dev", "cohort_id": cohort, "prefix": "62811", "stage": "mr1"}


def write_batch(dsn: str, cohort: str, batch: str, *, mismatch: bool = False, run_id: str | None = None) -> None:
    scope = Scope.from_mapping({**parent(cohort), "batch_id": batch})
    with ResultsStore.from_dsn(dsn) as store:
        run = store.open_run(scope, SUITE, process_name="Transformation", run_id=run_id)
        store.record_results(
            run,
            [
                CheckResult("row_count", "row_count", Status.MATCH, expected=100, actual=100, discrepancy=0),
                CheckResult(
                    "balance_sum",
                    "sum",
                    Status.MISMATCH if mismatch else Status.MATCH,
                    expected=Decimal("1000.10"),
                    actual=Decimal("1000.11") if mismatch else Decimal("1000.10"),
                    discrepancy=Decimal("0.01") if mismatch else Decimal("0"),
                ),
            ],
        )
        store.finish_run(run, "Passed")


def write_after_first_poll(monkeypatch, *args, **kwargs) -> threading.Thread:
    """A writer that adds a batch once the trigger has polled and seen it missing (ordering
    through the trigger's own read, never a clock: a loaded machine defers late)."""
    from recon_operators.triggers import ledger as ledger_trigger

    polled, real = threading.Event(), ledger_trigger.read_rows

    def read_rows(*a, **k):
        rows = real(*a, **k)
        polled.set()
        return rows

    monkeypatch.setattr(ledger_trigger, "read_rows", read_rows)
    return threading.Thread(target=lambda: polled.wait(120) and write_batch(*args, **kwargs))


def build_dag(cohort: str, expected: object, **sensor_kwargs):
    """A tiny gate DAG: scope from params (templated), sensor, then a load that must wait for it."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.sensors import LedgerSensor

    with DAG(
        f"ledger_sensor_{cohort}",
        schedule=None,
        catchup=False,
        params={"env": "dev", "cohort_id": cohort, "prefix": "62811", "batches": expected},
    ) as dag:
        wait = LedgerSensor(
            task_id="wait_for_batches",
            scope={
                "env": "{{ params.env }}",
                "cohort_id": "{{ params.cohort_id }}",
                "prefix": "{{ params.prefix }}",
                "stage": "mr1",
            },
            suite=SUITE,
            expected_batches="{{ params.batches }}",
            **{"poke_interval": 0.2, **sensor_kwargs},
        )
        wait >> EmptyOperator(task_id="load_next_stage")
    return dag


def run_test(dag):
    """``dag.test()`` for a DAG built in the test: 3.3 only runs DAGs serialized in the metadata DB.

    ``dag.test()`` looks the DAG up in the DB (it re-parses the bundles, where this DAG is not),
    so register it first as the DAG processor would, under the ``dags-folder`` bundle.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=os.devnull, collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


def states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


def summary(run) -> object:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids="wait_for_batches", key="return_value")
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def test_all_batches_match_passes_at_once(store_env, cohort):
    for batch in ("1", "2", "3"):
        write_batch(store_env, cohort, batch)
    run = run_test(build_dag(cohort, ["1", "2", "3"]))
    assert run.state == "success"
    assert states(run) == {"wait_for_batches": "success", "load_next_stage": "success"}
    result = summary(run)
    assert result["batches"] == ["1", "2", "3"] and result["checks"] == 6
    assert "polls" not in result  # decided by the synchronous first look: never deferred


def test_one_mismatch_fails_the_sensor_and_blocks_downstream(store_env, cohort):
    write_batch(store_env, cohort, "1")
    write_batch(store_env, cohort, "2", mismatch=True)
    run = run_test(build_dag(cohort, "1,2,3"))
    assert run.state == "failed"
    assert states(run) == {"wait_for_batches": "failed", "load_next_stage": "upstream_failed"}


def test_present_mode_waits_for_every_batch_then_passes_with_the_mismatch_counted(store_env, cohort, monkeypatch):
    # A prefix summary must see every batch, matched or not, and record the mismatch itself.
    write_batch(store_env, cohort, "1")
    write_batch(store_env, cohort, "2", mismatch=True)
    writer = write_after_first_poll(monkeypatch, store_env, cohort, "3")
    writer.start()
    try:
        run = run_test(build_dag(cohort, ["1", "2", "3"], require="present", timeout=60))
    finally:
        writer.join()
    assert run.state == "success"
    assert states(run) == {"wait_for_batches": "success", "load_next_stage": "success"}
    result = summary(run)
    assert result["batches"] == ["1", "2", "3"] and result["failed_count"] == 1
    assert result["polls"] >= 2  # batch 3 arrived while the trigger waited
    assert result["message"].startswith("all 3 batch(es) reported; 1 batch(es) failed: batch 2: balance_sum")


def test_batch_missing_at_start_is_waited_for_in_the_trigger(store_env, cohort, monkeypatch):
    write_batch(store_env, cohort, "1")
    writer = write_after_first_poll(monkeypatch, store_env, cohort, "2")
    writer.start()
    try:
        run = run_test(build_dag(cohort, ["1", "2"]))
    finally:
        writer.join()
    assert run.state == "success"
    assert states(run) == {"wait_for_batches": "success", "load_next_stage": "success"}
    result = summary(run)
    # Resumed from the trigger's event: it polled once while batch 2 was missing, then saw it.
    assert result["batches"] == ["1", "2"]
    assert result["polls"] >= 2 and result["waited_seconds"] > 0


def test_mismatch_written_while_deferred_fails_fast(store_env, cohort):
    write_batch(store_env, cohort, "1")
    writer = threading.Timer(1.0, write_batch, args=(store_env, cohort, "2"), kwargs={"mismatch": True})
    writer.start()
    try:
        run = run_test(build_dag(cohort, ["1", "2", "3"]))  # batch 3 never comes: failing must not wait for it
    finally:
        writer.join()
    assert states(run) == {"wait_for_batches": "failed", "load_next_stage": "upstream_failed"}


def test_timeout_fails_the_sensor(store_env, cohort):
    write_batch(store_env, cohort, "1")
    run = run_test(build_dag(cohort, ["1", "2"], timeout=1.0))
    assert states(run) == {"wait_for_batches": "failed", "load_next_stage": "upstream_failed"}


def test_poke_mode_uses_the_same_condition(store_env, cohort):
    write_batch(store_env, cohort, "1")
    write_batch(store_env, cohort, "2")
    run = run_test(build_dag(cohort, '["1", "2"]', deferrable=False))
    assert states(run) == {"wait_for_batches": "success", "load_next_stage": "success"}
    assert summary(run)["batches"] == ["1", "2"]


# -- the trigger on its own ------------------------------------------------------------------
def trigger(cohort: str, expected: list[str], **kwargs):
    from recon_operators.triggers import LedgerTrigger

    return LedgerTrigger(scope=parent(cohort), suite=SUITE, expected_batches=expected, **kwargs)


def first_event(trig):
    async def run():
        return await anext(trig.run())

    return asyncio.run(run())


def test_trigger_round_trips_through_its_serialization():
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize

    original = trigger("C1", ["1", "2"], store_conn_id="other_store", poll_interval=5, deadline=1_700_000_000.5)
    classpath, kwargs = original.serialize()
    assert classpath == "recon_operators.triggers.ledger.LedgerTrigger"
    # What the task runner stores and the triggerer reads back: serde-encoded kwargs.
    again = import_string(classpath)(**deserialize(serialize(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert kwargs == {
        "scope": parent("C1"),
        "suite": SUITE,
        "expected_batches": ["1", "2"],
        "store_conn_id": "other_store",
        "require": "match",
        "fresh_batches": [],
        "run_prefix": "",
        "poll_interval": 5.0,
        "deadline": 1_700_000_000.5,
    }


def test_trigger_times_out_naming_what_is_missing(store_env, cohort):
    write_batch(store_env, cohort, "1")
    event = first_event(trigger(cohort, ["1", "2"], poll_interval=0.2, deadline=time.time() + 0.5))
    assert event.payload["status"] == "timeout"
    assert event.payload["detail"]["message"] == "timed out: waiting for 1 of 2 batch(es): 2"
    assert event.payload["detail"]["polls"] >= 2


def test_trigger_reports_a_failed_batch(store_env, cohort):
    write_batch(store_env, cohort, "4", mismatch=True)
    event = first_event(trigger(cohort, [], poll_interval=0.2, deadline=time.time() + 5))
    assert event.payload["status"] == "failed"
    assert event.payload["detail"]["message"] == (
        "1 batch(es) failed: batch 4: balance_sum Mismatch (expected 1000.10, actual 1000.11)"
    )


def test_trigger_judges_rerun_batches_only_on_this_runs_rows(store_env, cohort):
    # Batches 1 and 2 passed in an earlier run; this run recomputes batch 2 (with a mismatch now).
    write_batch(store_env, cohort, "1", run_id=f"dag/earlier-{cohort}/report/0")
    write_batch(store_env, cohort, "2", run_id=f"dag/earlier-{cohort}/report/1")
    this_run = f"dag/rerun-{cohort}/"
    rerun = threading.Timer(
        1.0, write_batch, args=(store_env, cohort, "2"), kwargs={"mismatch": True, "run_id": this_run + "report/0"}
    )
    rerun.start()
    try:
        event = first_event(
            trigger(
                cohort,
                ["1", "2"],
                fresh_batches=["2"],
                run_prefix=this_run,
                require="present",
                poll_interval=0.2,
                deadline=time.time() + 20,
            )
        )
    finally:
        rerun.join()
    assert event.payload["status"] == "passed"
    assert event.payload["detail"]["polls"] >= 2  # the earlier run's batch 2 did not count
    assert event.payload["detail"]["failed_count"] == 1


def test_trigger_rides_out_store_errors_until_its_deadline(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DOWN_STORE", "postgresql://nobody@127.0.0.1:1/recon")
    event = first_event(trigger("C1", ["1"], store_conn_id="down_store", poll_interval=0.2, deadline=time.time() + 0.5))
    assert event.payload["status"] == "timeout"
    message = event.payload["detail"]["message"]
    assert message.startswith("timed out: no poll has read the store yet; last store error: cannot reach")
    assert event.payload["detail"]["polls"] >= 2


@pytest.mark.parametrize(
    "scope, expected, error",
    [
        ({"cohort_id": "C1"}, None, "scope needs an env"),
        ({"env": "dev", "cohort_id": "C 1"}, None, "characters a scope key cannot hold"),
        ({"env": "dev"}, "[1, 2", "neither a JSON nor a Python list"),
        ({"env": "dev", "cohort_id": "C1", "prefix": ""}, None, "prefix rendered empty"),
        ({"env": "dev", "cohort_id": "None"}, None, "cohort_id rendered empty"),
    ],
)
def test_bad_input_fails_without_retry_and_without_touching_the_store(scope, expected, error):
    from airflow.sdk.exceptions import AirflowFailException

    from recon_operators.sensors import LedgerSensor

    sensor = LedgerSensor(
        task_id="wait", scope=scope, suite=SUITE, expected_batches=expected, store_conn_id="no_such_connection"
    )
    with pytest.raises(AirflowFailException, match=error):
        sensor.execute({})
