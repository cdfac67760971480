"""Postgres: catalog types from pg_catalog, aggregates in SQL, the row diff through COPY.

The diff's rows leave the server as ``COPY (SELECT <canonical forms>) TO STDOUT`` CSV, written to
the spill file by ``psql`` when it is installed (libpq writes the file; psycopg2 would call
Python once per row, which doubles the time), else by psycopg2's ``copy_expert``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.adapters.client import run_client
from recon_operators.engine.adapters.sql import SqlAdapter
from recon_operators.engine.canonical import ColumnPlan
from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.logical_types import LogicalType, postgres_type
from recon_operators.errors import one_line
from recon_operators.paths import read_sql

_ECHOED_VALUE = re.compile(r':\s*"[^"]*"\s*$')  # 'invalid input syntax for type bigint: "007x"'
SESSION = "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1"


def connect(info: ConnectionInfo, label: str) -> Any:
    import psycopg2

    try:
        return psycopg2.connect(info.libpq_dsn(), connect_timeout=10)
    except psycopg2.Error as exc:
        raise SourceError(f"postgres {label}: cannot connect: {one_line(exc)}") from None


class PostgresAdapter(SqlAdapter):
    engine = "postgres"
    open_connection = staticmethod(connect)
    dialect = DIALECTS["postgres"]
    spill_format = "csv"

    def begin(self, cursor: Any) -> None:
        self.connection.rollback()
        cursor.execute("BEGIN READ ONLY" if self.connection.autocommit else "SET TRANSACTION READ ONLY")
        cursor.execute(SESSION)

    def error_line(self, exc: BaseException) -> str:
        return _ECHOED_VALUE.sub("", one_line(exc))  # a value the server quotes may be PII

    def read_columns(self, cursor: Any) -> dict[str, LogicalType]:
        cursor.execute(f"SELECT * FROM {self.relation} LIMIT 0")  # the columns, whatever the filter binds
        described = cursor.description
        cursor.execute(
            read_sql("engine/postgres_columns.sql"),
            {
                "types": [d.type_code for d in described],
                "tables": [d.table_oid for d in described],
                "columns": [d.table_column for d in described],
            },
        )
        return {d.name: postgres_type(row[0] or "") for d, row in zip(described, cursor.fetchall())}

    def stream(
        self, exprs: list[str], plans: list[ColumnPlan], side: str, tail: str, params: dict[str, Any], spill: Path
    ) -> None:
        def copy(cursor: Any) -> None:
            select = cursor.mogrify(f"SELECT {', '.join(exprs)}{tail}", params).decode()
            statement = f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
            with open(spill, "wb", buffering=1 << 20) as out:
                if self.native is not None and shutil.which("psql"):
                    _psql_copy(self.native, statement, out)
                else:
                    cursor.copy_expert(statement, out)

        self.run(copy)


def _psql_copy(info: ConnectionInfo, copy: str, out: Any) -> None:
    """One COPY through psql, read-only, in UTC."""
    env = {
        "PGTZ": "UTC",
        "PGDATESTYLE": "ISO, YMD",
        "PGCONNECT_TIMEOUT": "10",
        "PGOPTIONS": "-c default_transaction_read_only=on -c extra_float_digits=1",
        **({"PGPASSWORD": info.password} if info.password else {}),
    }
    try:
        run_client(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", replace(info, password=None).libpq_dsn(), "-c", copy],
            env,
            out,
        )
    except SourceError as exc:
        raise SourceError(_ECHOED_VALUE.sub("", str(exc))) from None
