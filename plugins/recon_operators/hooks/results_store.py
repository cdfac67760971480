"""Hook for the results store: an Airflow connection in, a ``ResultsStore`` out.

The store speaks psycopg2 (JSON adaptation, transaction status), while the postgres provider's
hook may hand out psycopg3 connections, so this hook builds its own DSN from the connection.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from recon_operators.connections import ConnectionInfo
from recon_operators.store import ResultsStore, apply_migrations, connect
from recon_operators.store.catalog import missing_tables
from recon_operators.store.migrations import Migration


class ResultsStoreHook(BaseHook):
    """Open the results ledger through an Airflow Postgres connection (default ``recon_store``)."""

    conn_name_attr = "store_conn_id"
    default_conn_name = "recon_store"
    conn_type = "postgres"
    hook_name = "Reconciliation results store"

    def __init__(self, store_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    def dsn(self) -> str:
        return ConnectionInfo.postgres_from(self.get_connection(self.store_conn_id)).libpq_dsn()

    def get_conn(self) -> Any:
        return connect(self.dsn())

    def get_store(self) -> ResultsStore:
        return ResultsStore(self.get_conn)

    def upgrade(self) -> list[Migration]:
        conn = self.get_conn()
        try:
            return apply_migrations(conn)
        finally:
            conn.close()

    def missing_tables(self) -> list[str]:
        conn = self.get_conn()
        try:
            return missing_tables(conn)
        finally:
            conn.close()
