"""Open a suite's sides outside Airflow: connection URLs or ``AIRFLOW_CONN_*`` variables.

The Airflow layer has its own opener built on hooks; both hand the same ``Source`` objects to
the runner, so a suite behaves identically from the CLI and from a DAG.
"""

from __future__ import annotations

from typing import Any

from recon_operators.connections import ConnectionConfigError, ConnectionInfo, airflow_connection, parse_uri
from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.sources.base import Source, SourceError
from recon_operators.engine.sources.sql import SqlSource
from recon_operators.errors import one_line
from recon_operators.engine.spec import SideSpec


def resolve_connection(reference: str) -> tuple[ConnectionInfo, str]:
    """A URL (``postgresql://...``) or an Airflow connection id; returns info and a safe label."""
    try:
        if "://" in reference:
            info = parse_uri(reference)
            return info, info.masked()
        return airflow_connection(reference), reference
    except ConnectionConfigError as exc:
        raise SourceError(str(exc)) from None


def connect_postgres(info: ConnectionInfo, label: str) -> Any:
    import psycopg2

    try:
        return psycopg2.connect(info.libpq_dsn(), connect_timeout=5)
    except psycopg2.Error as exc:
        raise SourceError(f"postgres {label}: cannot connect: {one_line(exc)}") from None


def connect_mysql(info: ConnectionInfo, label: str) -> Any:
    import MySQLdb

    try:
        return MySQLdb.connect(host=info.host or "127.0.0.1", port=info.port or 3306, user=info.login or "root",
                               passwd=info.password or "", db=info.schema or "", charset="utf8mb4",
                               connect_timeout=5)
    except MySQLdb.Error as exc:
        raise SourceError(f"mysql {label}: cannot connect: {one_line(exc)}") from None


def connect_mongo(info: ConnectionInfo, label: str) -> Any:
    import pymongo

    auth = f"{info.login}:{info.password}@" if info.login else ""
    uri = f"mongodb://{auth}{info.host or '127.0.0.1'}:{info.port or 27017}/"
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, **{k: v for k, v in info.extra.items()
                                                                       if k in ("authSource", "tls", "replicaSet")})
    database = info.schema or info.extra.get("database")
    if not database:
        raise SourceError(f"mongo {label}: the connection names no database")
    return client[database]


def open_side(side: SideSpec, name: str) -> Source:
    """Open one side for the CLI (and any caller without Airflow)."""
    if side.kind == "file":
        from recon_operators.engine.sources.files import FileSource, s3_filesystem

        filesystem = None
        if (side.path or "").startswith("s3://"):
            extra: dict[str, Any] = {}
            login = password = None
            if side.connection:
                info, _ = resolve_connection(side.connection)
                extra, login, password = info.extra, info.login, info.password
            filesystem = s3_filesystem(endpoint_url=extra.get("endpoint_url"), region=extra.get("region_name"),
                                       access_key=login, secret_key=password)
        return FileSource(side, filesystem=filesystem, conn_id=side.connection)
    info, label = resolve_connection(side.connection or "")
    if side.kind == "mongo":
        if info.conn_type != "mongo":
            raise SourceError(f"{name} names a collection but connection {label} is {info.conn_type}")
        from recon_operators.engine.sources.mongo import MongoSource

        return MongoSource(connect_mongo(info, label), side, conn_id=label)
    if info.conn_type == "postgres":
        return SqlSource(connect_postgres(info, label), side, DIALECTS["postgres"], conn_id=label)
    if info.conn_type == "mysql":
        return SqlSource(connect_mysql(info, label), side, DIALECTS["mysql"], conn_id=label)
    raise SourceError(f"{name}: connection {label} is {info.conn_type}, which cannot hold a table")
