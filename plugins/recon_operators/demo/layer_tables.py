"""The tables the built-in loaders write, created before batches load, never inside a batch.

Why apart from the loads: DDL inside a batch transaction deadlocked parallel loads (issue #14).
``CREATE INDEX IF NOT EXISTS`` takes a SHARE lock even when the index exists; two batches holding
it on one table each waited for the other's DELETE. Two batches creating one new schema collided
on ``pg_namespace``. So a batch transaction runs no DDL: ``ensure_postgres`` / ``ensure_mariadb``
read the catalog (no table lock) and create only what is missing, one committed statement at a
time, so a waiting statement never holds a lock another load needs. A cohort DAG runs them once
per run (``prepare_layers``) before the mapped loads; each load checks again (a cheap catalog
read) so a loader called on its own still finds its tables.

Indexes: ``<table>_msisdn_idx`` (readers filter by MSISDN range) and, where the table has
``cohort_id``, ``<table>_batch_idx`` on ``(cohort_id, msisdn)``: the batch DELETE's predicate, so
the DELETE reaches only its own batch's rows. No Airflow imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from recon_operators.engine.identifiers import quote_ident, validate_identifier
from recon_operators.paths import read_sql

JSON_COLUMNS = frozenset({"sso_connections"})  # JSON text can exceed VARCHAR(255) in MariaDB


def column_type(name: str, kind: pa.DataType, dialect: str) -> str:
    """The column type for an Arrow type in ``postgres`` or ``mariadb`` (timestamps: UTC DATETIME)."""
    pg = dialect == "postgres"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text" if pg else ("TEXT" if name in JSON_COLUMNS else "VARCHAR(255)")
    if pa.types.is_decimal(kind):
        return f"{'numeric' if pg else 'DECIMAL'}({kind.precision},{kind.scale})"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if pg else "DATETIME(0)"
    if pa.types.is_integer(kind):
        return "bigint" if pg else "BIGINT"
    if pa.types.is_boolean(kind):
        return "boolean" if pg else "TINYINT(1)"
    raise ValueError(f"no {dialect} type for Arrow {kind}")


def indexes(table: str, arrow: pa.Schema) -> dict[str, tuple[str, ...]]:
    """The indexes a layer table needs: name -> columns."""
    wanted = {f"{table}_msisdn_idx": ("msisdn",)}
    if "cohort_id" in arrow.names:
        wanted[f"{table}_batch_idx"] = ("cohort_id", "msisdn")
    return wanted


def layer_ddl(table: str, arrow: pa.Schema, dialect: str, schema: str | None = None) -> list[str]:
    """Idempotent DDL for one layer table and its indexes, in the order to run it."""
    name = quote_ident(table, dialect)
    qualified = f"{quote_ident(schema)}.{name}" if schema else name
    columns = ", ".join(f"{quote_ident(f.name, dialect)} {column_type(f.name, f.type, dialect)}" for f in arrow)
    if dialect == "postgres":
        statements = [
            f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema or 'public')}",
            f"CREATE TABLE IF NOT EXISTS {qualified} ({columns})",
        ]
    else:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {qualified} ({columns}) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
        ]
    for index, cols in indexes(table, arrow).items():
        on = ", ".join(quote_ident(c, dialect) for c in cols)
        statements.append(f"CREATE INDEX IF NOT EXISTS {quote_ident(index, dialect)} ON {qualified} ({on})")
    return statements


def _missing(cur: Any, sql: str, params: Mapping[str, str], table: str, arrow: pa.Schema) -> bool:
    cur.execute(sql, params)
    have = {row[0] for row in cur.fetchall()}
    return not set(indexes(table, arrow)) <= have


def ensure_postgres(conn: Any, schema: str, tables: Mapping[str, pa.Schema]) -> list[str]:
    """Create the missing ``schema`` tables and indexes; returns the tables that needed DDL.

    Ends with no transaction open. Creating runs under a session advisory lock, one committed
    statement at a time; ``conn`` must not be in autocommit mode.
    """
    validate_identifier(schema)
    sql = read_sql("layers/postgres_indexes.sql", package="recon_operators.demo")
    with conn.cursor() as cur:
        missing = [t for t, arrow in tables.items() if _missing(cur, sql, {"schema": schema, "table": t}, t, arrow)]
    conn.commit()
    if not missing:
        return []
    with conn.cursor() as cur:
        cur.execute(read_sql("layers/postgres_ddl_lock.sql", package="recon_operators.demo"))
        conn.commit()
        try:
            for table in missing:
                for statement in layer_ddl(table, tables[table], "postgres", schema):
                    cur.execute(statement)
                    conn.commit()
        finally:
            _unlock(conn)
    return missing


def _unlock(conn: Any) -> None:
    """Release the DDL lock; a broken connection has released it already, and the error that
    broke it is the one worth raising."""
    try:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute(read_sql("layers/postgres_ddl_unlock.sql", package="recon_operators.demo"))
        conn.commit()
    except Exception:  # noqa: BLE001 - best effort: nothing is left to undo when this fails
        pass


def ensure_mariadb(conn: Any, tables: Mapping[str, pa.Schema]) -> list[str]:
    """Create the missing stage tables and indexes in the connection's database; returns the
    tables that needed DDL. Every MariaDB DDL statement commits by itself."""
    sql = read_sql("layers/mariadb_indexes.sql", package="recon_operators.demo")
    cur = conn.cursor()
    missing = [t for t, arrow in tables.items() if _missing(cur, sql, {"table": t}, t, arrow)]
    conn.commit()
    for table in missing:
        for statement in layer_ddl(table, tables[table], "mariadb"):
            cur.execute(statement)
    return missing
