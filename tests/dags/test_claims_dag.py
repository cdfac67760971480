"""The recon_claims DAG end to end with dag.test(logical_date=...): the landing sensor, the reconcile
task and what they leave in metrics.* and S3, on real Postgres and moto."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from tests.airflow_helpers import run_test, task_states, xcom
from tests.integration.claims_data import BUNDLED_CONFIG, DAY, HEADER, keys_under, put, rows, store_rows, to_csv

pytestmark = pytest.mark.dags


@pytest.fixture
def config_file(tmp_path, moto_server, airflow_env, airflow_db, store_dsn):
    """The bundled config with its own DAG id, buckets and dataset, written where the task reads it."""
    tag = uuid.uuid4().hex[:8]
    data = yaml.safe_load(BUNDLED_CONFIG.read_text())
    data.update(dag_id=f"recon_claims_t_{tag}", dataset=f"claims_d_{tag}")
    data["s3"].update(bucket=f"claims-in-{tag}", output_bucket=f"claims-out-{tag}")
    data["landing"].update(poke_seconds=0.2)
    for bucket in (data["s3"]["bucket"], data["s3"]["output_bucket"]):
        moto_server.client("s3").create_bucket(Bucket=bucket)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def build(config_file, **changes):
    import dataclasses

    from recon_operators.claims.config import load_claims_config
    from recon_operators.factories.claims import build_claims_dag

    config = dataclasses.replace(load_claims_config(config_file), **changes)
    return config, build_claims_dag(config)


LOGICAL = datetime(2026, 1, 31, tzinfo=UTC)


def test_bundled_dag_is_daily_without_catch_up():
    from recon_operators.factories.claims import build_claims_dags

    dag = build_claims_dags()["recon_claims"]
    # Unpausing must not start one run per missed day; missed days are backfilled on purpose.
    assert dag.catchup is False and [t.task_id for t in dag.tasks] == ["wait_for_files", "reconcile"]
    sensor = dag.get_task("wait_for_files")
    assert sensor.key == "claims/inbound/{{ ds }}/*" and sensor.deferrable and sensor.soft_fail
    assert dag.get_task("reconcile").trigger_rule == "none_failed"


def test_a_delivered_day_is_reconciled_and_archived(config_file, moto_server, store_conn):
    config, dag = build(config_file)
    put(moto_server, config, "claims.csv", to_csv(HEADER, rows(20)))
    put(moto_server, config, "claims_NEWSYSTEM.csv", to_csv(HEADER, rows(18)))

    run = run_test(dag, logical_date=LOGICAL)

    assert run.state == "success", task_states(run)
    assert xcom(run, "reconcile")["summary"]["missing_in_new"] == 2
    got = store_rows(store_conn, config)
    assert got["log"][0][1] == "SUCCESS" and got["summary"][0][:4] == (20, 18, 18, 2)
    assert keys_under(moto_server, config.bucket, config.prefixes_for(DAY).inbound) == []
    assert len(keys_under(moto_server, config.output_bucket, config.prefixes_for(DAY).output)) == 3


def test_a_day_without_files_ends_logged_as_no_files(config_file, store_conn):
    config, dag = build(config_file)
    run = run_test(dag, logical_date=LOGICAL)  # the landing window of 2026-01-31 closed long ago
    assert run.state == "success"
    assert task_states(run) == {"wait_for_files": "skipped", "reconcile": "success"}
    assert [r[1] for r in store_rows(store_conn, config)["log"]] == ["NO_FILES"]


def test_a_wrong_file_count_fails_the_run_after_logging_it(config_file, moto_server, store_conn):
    config, dag = build(config_file)
    put(moto_server, config, "claims.csv", to_csv(HEADER, rows(2)))
    run = run_test(dag, logical_date=LOGICAL)
    assert run.state == "failed"
    assert task_states(run) == {"wait_for_files": "success", "reconcile": "failed"}
    assert [r[1] for r in store_rows(store_conn, config)["log"]] == ["INVALID_FILE_COUNT"]


def test_files_landing_late_are_waited_for_until_both_are_there(config_file, moto_server, store_conn):
    config, dag = build(config_file, wait_hours=24 * 365 * 50)  # the window is still open
    put(moto_server, config, "c.csv", to_csv(HEADER, rows(4)))  # OLD first: one file is not the delivery
    writer = threading.Timer(2.0, put, args=(moto_server, config, "c_NEWSYSTEM.csv", to_csv(HEADER, rows(4))))
    writer.start()
    try:
        run = run_test(dag, logical_date=LOGICAL)
    finally:
        writer.join()
    assert run.state == "success", task_states(run)
    assert task_states(run) == {"wait_for_files": "success", "reconcile": "success"}
    assert store_rows(store_conn, config)["summary"][0][:4] == (4, 4, 4, 0)


def test_counted_trigger_round_trips_and_waits_for_enough_keys(moto_server, airflow_env):
    import asyncio
    import time

    from airflow.sdk._shared.module_loading import import_string

    from recon_operators.sensors.claims_landing import CountedLandingTrigger

    bucket = f"claims-trigger-{uuid.uuid4().hex[:8]}"
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="d/a.csv", Body=b"x")
    trigger = CountedLandingTrigger(
        bucket=bucket, key="d/*", wildcard=True, poll_interval=0.1, deadline=time.time() + 1, min_keys=2
    )
    classpath, kwargs = trigger.serialize()
    assert import_string(classpath)(**kwargs).serialize() == (classpath, kwargs) and kwargs["min_keys"] == 2

    async def first(t):
        async for event in t.run():
            return event.payload

    timeout = asyncio.run(first(trigger))  # one key of two never fires "landed"
    assert timeout["status"] == "timeout" and timeout["message"].startswith(f"only 1 of 2 files at s3://{bucket}/d/*")
    s3.put_object(Bucket=bucket, Key="d/b.csv", Body=b"x")
    trigger.deadline = time.time() + 30
    assert asyncio.run(first(trigger)) == {"status": "landed", "keys": ["d/a.csv", "d/b.csv"], "polls": 1}


def test_window_closing_with_one_file_logs_invalid_file_count(config_file, moto_server, store_conn):
    closes_in = (datetime.now(UTC) - datetime(2026, 2, 1, tzinfo=UTC)).total_seconds() + 10
    config, dag = build(config_file, wait_hours=closes_in / 3600)  # the window closes seconds from now
    put(moto_server, config, "c.csv", to_csv(HEADER, rows(4)))
    run = run_test(dag, logical_date=LOGICAL)
    # Whether the sensor deferred and timed out (skipped) or started after the window closed and
    # handed over the one file (success) depends on how fast the task starts; the day's outcome does not.
    assert task_states(run)["reconcile"] == "failed"
    assert [r[1] for r in store_rows(store_conn, config)["log"]] == ["INVALID_FILE_COUNT"]


def test_sensor_timing_out_in_the_trigger_is_skipped_not_failed():
    from airflow.sdk.exceptions import AirflowSkipException

    from recon_operators.sensors.claims_landing import ClaimsLandingSensor

    sensor = ClaimsLandingSensor(task_id="wait", bucket="b", key="d/*", processed_key="p/*", wait_hours=1)
    with pytest.raises(AirflowSkipException, match="only 1 of 2 files"):
        sensor.execute_complete({}, {"status": "timeout", "message": "only 1 of 2 files at s3://b/d/*"})


@pytest.mark.parametrize("data_intervals", [False, True])
def test_the_window_closes_wait_hours_after_the_business_day_under_both_cron_timetables(data_intervals, monkeypatch):
    """Regression: under Airflow 3's default cron timetable (create_cron_data_intervals = False)
    the run of business day D has data_interval_end = D 00:00, and the window counted from it
    closed at D 12:00, before the day's files were due (scheduled__2026-11-29 skipped at 17:45)."""
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.base import TimeRestriction

    from recon_operators.factories.claims import build_claims_dags

    monkeypatch.setenv("AIRFLOW__SCHEDULER__CREATE_CRON_DATA_INTERVALS", str(data_intervals))
    dag = build_claims_dags()["recon_claims"]
    assert type(dag.timetable).__name__ == ("CronDataIntervalTimetable" if data_intervals else "CronTriggerTimetable")
    timetable = DagSerialization.from_dict(DagSerialization.to_dict(dag)).timetable  # what the scheduler uses
    restriction = TimeRestriction(earliest=datetime(2026, 11, 27, tzinfo=UTC), latest=None, catchup=True)
    info, last = None, None
    while info is None or info.logical_date.date() < datetime(2026, 11, 29).date():
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        last = info.data_interval
    context = {
        "ds": info.logical_date.strftime("%Y-%m-%d"),
        "logical_date": info.logical_date,
        "data_interval_start": info.data_interval.start,
        "data_interval_end": info.data_interval.end,
    }
    sensor = dag.get_task("wait_for_files")
    closes = sensor.window_closes(context)
    assert context["ds"] == "2026-11-29"  # the prefix claims/inbound/2026-11-29/
    assert closes == datetime(2026, 11, 30, 12, tzinfo=UTC)  # 12 h after the business day ends
    assert closes - info.run_after >= timedelta(hours=12)  # the run starts with the window open


def test_a_run_without_a_logical_date_is_refused_with_one_line():
    from airflow.sdk.exceptions import AirflowFailException

    from recon_operators.sensors.claims_landing import ClaimsLandingSensor

    sensor = ClaimsLandingSensor(task_id="wait", bucket="b", key="d/*", processed_key="p/*", wait_hours=12)
    with pytest.raises(AirflowFailException, match="no logical date"):
        sensor.window_closes({"logical_date": None})
