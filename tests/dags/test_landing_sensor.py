"""The deferrable S3 landing sensor on moto: landed, late (waited for in the trigger), never landed."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

from tests.airflow_helpers import run_test, task_states, xcom

pytestmark = pytest.mark.dags


@pytest.fixture
def bucket(airflow_db, airflow_env, moto_server) -> str:
    name = f"landing-{uuid.uuid4().hex[:10]}"
    moto_server.client("s3").create_bucket(Bucket=name)
    return name


def put(moto_server, bucket: str, key: str, body: bytes = b"msisdn,balance\n628110000001,10.00\n") -> None:
    moto_server.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def build_dag(bucket: str, key: str, **sensor_kwargs):
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    from recon_operators.sensors import S3LandingSensor

    with DAG(f"landing_{bucket}", schedule=None, catchup=False, params={"cohort_id": "C1"}) as dag:
        wait = S3LandingSensor(
            task_id="wait_extract",
            bucket=bucket,
            key=key,
            retries=0,
            **{"poke_interval": 0.2, "timeout": 30, **sensor_kwargs},
        )
        wait >> EmptyOperator(task_id="reconcile_brm")
    return dag


def test_extract_already_landed_passes_at_once(bucket, moto_server):
    put(moto_server, bucket, "demo/C1/brm_balances/part-0000.csv")
    run = run_test(build_dag(bucket, "demo/{{ params.cohort_id }}/brm_balances/part-*.csv", wildcard=True))
    assert run.state == "success", task_states(run)
    assert xcom(run, "wait_extract") == ["demo/C1/brm_balances/part-0000.csv"]


def test_late_extract_is_waited_for_in_the_trigger(bucket, moto_server):
    writer = threading.Timer(2.0, put, args=(moto_server, bucket, "demo/C1/brm.csv"))
    writer.start()
    try:
        run = run_test(build_dag(bucket, "demo/C1/brm.csv"))
    finally:
        writer.join()
    assert run.state == "success", task_states(run)
    assert task_states(run) == {"wait_extract": "success", "reconcile_brm": "success"}
    assert xcom(run, "wait_extract") == ["demo/C1/brm.csv"]


def test_missing_extract_fails_the_run(bucket, moto_server):
    put(moto_server, bucket, "demo/C1/brm_balances/empty.csv", body=b"")  # still being written: not landed
    run = run_test(build_dag(bucket, "demo/C1/brm_balances/*.csv", wildcard=True, timeout=1))
    assert run.state == "failed"
    assert task_states(run) == {"wait_extract": "failed", "reconcile_brm": "upstream_failed"}


def test_trigger_times_out_with_a_message_naming_the_location(bucket, airflow_env):
    from recon_operators.triggers.landing import LandingTrigger

    async def first():
        async for event in LandingTrigger(
            bucket=bucket, key="x/*.csv", wildcard=True, poll_interval=0.2, deadline=time.time() + 0.5
        ).run():
            return event

    event = asyncio.run(first())
    assert event.payload["status"] == "timeout"
    assert event.payload["message"].startswith(f"nothing landed at s3://{bucket}/x/*.csv before the deadline")


def test_trigger_round_trips_through_its_serialization():
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize

    from recon_operators.triggers.landing import LandingTrigger

    original = LandingTrigger(
        bucket="b", key="k/*.csv", wildcard=True, aws_conn_id="aws_x", poll_interval=5, deadline=1_700_000_000.5
    )
    classpath, kwargs = original.serialize()
    again = import_string(classpath)(**deserialize(serialize(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert "password" not in str(kwargs) and kwargs["aws_conn_id"] == "aws_x"


def test_glob_matching_lists_only_by_the_literal_prefix(bucket, moto_server):
    from recon_operators.triggers.landing import matching_keys

    for key in ("a/b1/x.csv", "a/b2/x.csv", "a/b2/x.txt", "a/c/x.csv"):
        put(moto_server, bucket, key)
    client = moto_server.client("s3")
    assert matching_keys(client, bucket, "a/b?/x.csv", True) == ["a/b1/x.csv", "a/b2/x.csv"]
    assert matching_keys(client, bucket, "a/b1/x.csv", False) == ["a/b1/x.csv"]
    assert matching_keys(client, bucket, "a/b1/x", False) == []  # an exact key is not a prefix
