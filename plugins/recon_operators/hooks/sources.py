"""Open a suite's sides inside Airflow: Airflow connections through the providers' hooks.

Hooks are created only when a task runs (never at DAG parse time), and each side gets its own
connection so a slow side never holds the other's transaction open.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.opener import open_side as open_side_without_airflow
from recon_operators.engine.sources.base import Source, SourceError
from recon_operators.engine.sources.sql import SqlSource
from recon_operators.errors import one_line
from recon_operators.engine.spec import SideSpec

_POSTGRES = ("postgres", "postgresql")
_MYSQL = ("mysql", "mariadb")


def _connection(conn_id: str) -> Any:
    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - AirflowNotFoundException and secrets-backend errors alike
        raise SourceError(f"connection {conn_id!r} is not defined in Airflow: {one_line(exc)}") from None


def _postgres(conn_id: str) -> Any:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=conn_id).get_conn()


def _mysql(conn_id: str) -> Any:
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    return MySqlHook(mysql_conn_id=conn_id).get_conn()


def _mongo_database(conn_id: str, conn: Any) -> Any:
    from airflow.providers.mongo.hooks.mongo import MongoHook

    client = MongoHook(mongo_conn_id=conn_id).get_conn()
    database = conn.schema or conn.extra_dejson.get("database")
    if not database:
        raise SourceError(f"mongo connection {conn_id!r} names no database (set its schema)")
    return client[database]


def _s3_filesystem(conn_id: str) -> Any:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    from recon_operators.engine.sources.files import s3_filesystem

    hook = AwsBaseHook(aws_conn_id=conn_id, client_type="s3")
    credentials = hook.get_credentials()
    return s3_filesystem(endpoint_url=hook.conn_config.endpoint_url, region=hook.conn_region_name,
                         access_key=credentials.access_key, secret_key=credentials.secret_key,
                         session_token=credentials.token)


def open_side(side: SideSpec, name: str) -> Source:
    """The Airflow counterpart of ``engine.opener.open_side``: connection ids through hooks."""
    reference = side.connection or ""
    if "://" in reference:  # a URL in the suite: same path as the CLI
        return open_side_without_airflow(side, name)
    if side.kind == "file":
        from recon_operators.engine.sources.files import FileSource

        filesystem = _s3_filesystem(reference or "aws_default") if (side.path or "").startswith("s3://") else None
        return FileSource(side, filesystem=filesystem, conn_id=reference or None)
    conn = _connection(reference)
    conn_type = (conn.conn_type or "").lower()
    try:
        if side.kind == "mongo":
            if conn_type not in ("mongo", "mongodb"):
                raise SourceError(f"{name} names a collection but connection {reference!r} is {conn_type}")
            from recon_operators.engine.sources.mongo import MongoSource

            return MongoSource(_mongo_database(reference, conn), side, conn_id=reference)
        if conn_type in _POSTGRES:
            return SqlSource(_postgres(reference), side, DIALECTS["postgres"], conn_id=reference)
        if conn_type in _MYSQL:
            return SqlSource(_mysql(reference), side, DIALECTS["mysql"], conn_id=reference)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver connect errors differ per provider
        raise SourceError(f"{conn_type} {reference}: cannot connect: {one_line(exc)}") from None
    raise SourceError(f"{name}: connection {reference!r} is {conn_type}, which cannot hold a table")
