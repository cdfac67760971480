"""Connections of the subscriber jobs, through Airflow: DynamoDB and S3 clients from the AWS
connection, the Legacy MySQL connection, the results store's job tables, the mode Variable.

Opened only when a task (or the run listener) runs, never at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from recon_operators.subscribers.config import SubscriberConfig
from recon_operators.subscribers.jobs import JobStore


def aws_client(config: SubscriberConfig, service: str) -> Any:
    """A low-level boto3 client (``dynamodb``, ``s3``) from the configured AWS connection: its keys,
    region and ``endpoint_url`` (moto on a laptop), or boto3's default chain in production."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=config.aws_conn_id, client_type=service).get_conn()


def job_store(config: SubscriberConfig) -> JobStore:
    from recon_operators.hooks.results_store import ResultsStoreHook

    return JobStore(ResultsStoreHook(config.store_conn_id).get_conn)


def cloud_store(config: SubscriberConfig) -> Any:
    from recon_operators.subscribers.cloud import CloudStore

    return CloudStore(aws_client(config, "dynamodb"), config.cloud_table, scan_segments=config.scan_segments)


@contextmanager
def legacy_store(config: SubscriberConfig) -> Iterator[Any]:
    from recon_operators.hooks.databases import mysql_connection
    from recon_operators.subscribers.legacy import LegacyStore

    conn = mysql_connection(config.legacy_conn_id)
    try:
        yield LegacyStore(conn)
    finally:
        conn.close()


@contextmanager
def stores(config: SubscriberConfig, cloud: bool, legacy: bool) -> Iterator[tuple[Any, Any]]:
    """(cloud store or None, legacy store or None), as asked; the Legacy connection is closed after."""
    if not legacy:
        yield (cloud_store(config) if cloud else None), None
        return
    with legacy_store(config) as opened:
        yield (cloud_store(config) if cloud else None), opened


def mode_variable(config: SubscriberConfig) -> str | None:
    """The provisioning mode set for every job (Airflow Variable), None when unset."""
    from airflow.sdk import Variable

    return Variable.get(config.mode_variable, default=None)
