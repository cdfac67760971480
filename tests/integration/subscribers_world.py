"""Fixtures of the subscriber job tests: a Legacy MariaDB database and a Cloud DynamoDB table of
each test's own (moto in server mode), the session's results store with an open job.

Import the fixtures into a test module (``from tests.integration.subscribers_world import ...``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from recon_operators.demo import services


def mysql_connect(database: str) -> Any:
    import MySQLdb

    return MySQLdb.connect(
        host=services.MARIADB_HOST,
        port=services.MARIADB_PORT,
        user=services.MARIADB_USER,
        passwd="",
        db=database,
        charset="utf8mb4",
    )


@pytest.fixture
def legacy_db() -> Iterator[str]:
    """A MariaDB database holding the Legacy schema (table, audit_log, triggers), dropped after."""
    from recon_operators.subscribers.legacy import ensure_schema

    name = services.create_mariadb_database(services.unique_name("recon_t_legacy"))
    conn = mysql_connect(name)
    try:
        ensure_schema(conn)
    finally:
        conn.close()
    try:
        yield name
    finally:
        services.drop_mariadb_database(name)


def dynamodb_client(moto_server: services.MotoServer) -> Any:
    return moto_server.client("dynamodb")


@pytest.fixture
def cloud_table(moto_server) -> Iterator[str]:
    """A DynamoDB table of this test's own, created as the Cloud store creates it."""
    from recon_operators.subscribers.cloud import CloudStore

    name = f"subscribers-{uuid.uuid4().hex[:8]}"
    CloudStore(dynamodb_client(moto_server), name).ensure_table()
    try:
        yield name
    finally:
        dynamodb_client(moto_server).delete_table(TableName=name)


@pytest.fixture
def job_store(store_dsn) -> Iterator[Any]:
    from recon_operators.subscribers.jobs import JobStore

    store = JobStore.from_dsn(store_dsn)
    try:
        yield store
    finally:
        store.close()


def open_job(store: Any, job_type: str = "MIGRATION", mode: str = "DUAL_PROV") -> str:
    return store.open(
        job_type=job_type, dag_id=f"subscriber_test_{uuid.uuid4().hex[:6]}", run_id="manual__1", mode=mode
    ).job_id


def legacy_rows(database: str, sql: str, *params: Any) -> list[tuple]:
    conn = mysql_connect(database)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        conn.close()


def throttle(client: Any, operation: str, times: int) -> list[int]:
    """Make the next ``times`` calls of ``operation`` (e.g. ``BatchWriteItem``) on this client answer ProvisionedThroughputExceededException, as DynamoDB does when throttling; the
    calls after reach moto. Returns a list that counts the refused calls."""
    refused: list[int] = []

    def answer(**_: Any) -> Any:
        if len(refused) >= times:
            return None
        refused.append(1)
        from botocore.awsrequest import AWSResponse

        response = AWSResponse("http://moto", 400, {}, None)
        return response, {
            "Error": {
                "Code": "ProvisionedThroughputExceededException",
                "Message": "The level of configured provisioned throughput was exceeded",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    client.meta.events.register(f"before-call.dynamodb.{operation}", answer)
    return refused
