"""Airflow connection lookup for the engine's single opener, and live connections for loaders.

The engine opens every side itself (``engine.opener``); Airflow only tells it what a connection
id means: ``connection_info`` reads ``BaseHook.get_connection`` (any secrets backend) and, for AWS
connections, the credentials the amazon provider resolves (keys, session token, role), endpoint
and region. Hooks are created only when a task runs, never at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseHook

from recon_operators.connections import ConnectionConfigError, ConnectionInfo, parse_uri
from recon_operators.engine.adapters.base import Adapter, SourceError
from recon_operators.engine.spec import SideSpec
from recon_operators.errors import one_line


def connection_info(conn_id: str) -> ConnectionInfo:
    """An Airflow connection as the engine's ``ConnectionInfo`` (raises ``SourceError``)."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and secrets-backend errors alike
        raise SourceError(f"connection {conn_id!r} is not defined in Airflow: {one_line(exc)}") from None
    if (conn.conn_type or "").lower() in ("aws", "s3"):
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        hook = AwsBaseHook(aws_conn_id=conn_id, client_type="s3")
        credentials = hook.get_credentials()
        extra = {
            "endpoint_url": hook.conn_config.endpoint_url,
            "region_name": hook.conn_region_name,
            "aws_session_token": credentials.token,
        }
        return ConnectionInfo(
            "aws",
            login=credentials.access_key,
            password=credentials.secret_key,
            extra={k: v for k, v in extra.items() if v},
        )
    try:  # the connection's URI through the one parser AIRFLOW_CONN_* values take too
        return parse_uri(conn.get_uri())
    except ConnectionConfigError as exc:
        raise SourceError(f"connection {conn_id!r}: {exc}") from None


def open_side(side: SideSpec, name: str, engine: str | None = None) -> Adapter:
    """A suite side through Airflow connections (``ReconCheckOperator``); ``engine="spark"``: read by Spark."""
    from recon_operators.engine.opener import open_side as engine_open_side

    return engine_open_side(side, name, resolve=connection_info, engine=engine)


def open_dataset(dataset: str | Mapping[str, Any], params: Mapping[str, Any], engine: str | None = None) -> Adapter:
    """A row diff side (mapping or URL) through Airflow connections (``RowDiffOperator``)."""
    from recon_operators.engine.opener import open_dataset as engine_open_dataset

    return engine_open_dataset(dataset, params, resolve=connection_info, engine=engine)


def postgres_connection(conn_id: str) -> Any:
    from recon_operators.engine.adapters.postgres import connect

    return connect(connection_info(conn_id), conn_id)


def mysql_connection(conn_id: str) -> Any:
    from recon_operators.engine.adapters.mysql import connect

    return connect(connection_info(conn_id), conn_id)


def mongo_database(conn_id: str) -> Any:
    from recon_operators.engine.adapters.mongo import connect

    return connect(connection_info(conn_id), conn_id)


def s3_filesystem(conn_id: str) -> Any:
    """An Arrow S3 filesystem with the AWS connection's credentials, endpoint and region."""
    from recon_operators.engine.adapters.files import s3_filesystem as arrow_s3

    info = connection_info(conn_id)
    return arrow_s3(
        endpoint_url=info.extra.get("endpoint_url"),
        region=info.extra.get("region_name"),
        access_key=info.login,
        secret_key=info.password,
        session_token=info.extra.get("aws_session_token"),
    )
