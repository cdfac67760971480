"""psycopg2 and MySQLdb connections from Airflow connection ids, for the built-in loaders.

The loaders stream with psycopg2's COPY API; the postgres provider's hook may hand out psycopg3
connections, so Postgres connections are opened here from the connection's fields.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from recon_operators.connections import ConnectionInfo


def postgres_connection(conn_id: str) -> Any:
    import psycopg2

    dsn = ConnectionInfo.postgres_from(BaseHook.get_connection(conn_id)).libpq_dsn()
    return psycopg2.connect(dsn, connect_timeout=10)


def mysql_connection(conn_id: str) -> Any:
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    return MySqlHook(mysql_conn_id=conn_id).get_conn()
