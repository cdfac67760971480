"""The job's target tables: create them, write a worker's staging rows, MERGE a run into final.

Every write is one transaction on a psycopg2 connection to the job's target database, so a
worker that fails half-way leaves its previous rows (or none), never a half-written chunk. The
SQL lives in include/sql/batch_load; identifiers come from the validated job config and are
composed with ``psycopg2.sql`` (quoted), values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg2 import sql
from psycopg2.extras import execute_values

from recon_operators.batchload.layout import Layout
from recon_operators.paths import read_sql
from recon_operators.store.db import transaction

INSERT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Tables:
    """Where one job's rows land in its target database (identifiers validated by the config)."""

    schema: str
    staging: str
    final: str
    rejects: str

    def ident(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.schema, table)

    @property
    def staging_name(self) -> str:
        return f"{self.schema}.{self.staging}"

    @property
    def final_name(self) -> str:
        return f"{self.schema}.{self.final}"


def _template(name: str, **parts: sql.Composable) -> sql.Composed:
    return sql.SQL(read_sql(f"batch_load/{name}")).format(**parts)


def _columns(names: Sequence[str], prefix: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(prefix, n) if prefix else sql.Identifier(n) for n in names)


def ensure_tables(conn: Any, tables: Tables, layout: Layout) -> None:
    """Create the schema, staging, reject and final tables when absent (same columns as the layout)."""
    field_columns = sql.SQL(",\n    ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(f.pg_type)) for f in layout.fields
    )
    statement = _template(
        "create_tables.sql",
        schema=sql.Identifier(tables.schema),
        staging=tables.ident(tables.staging),
        rejects=tables.ident(tables.rejects),
        final=tables.ident(tables.final),
        field_columns=field_columns,
        key_columns=_columns(layout.key),
        final_run_index=sql.Identifier(f"{tables.final}_last_run_id_idx"[:63]),
    )
    with transaction(conn) as cur:
        cur.execute(statement)


def clear_run(conn: Any, tables: Tables, run_id: str) -> int:
    """Remove the run's staging and reject rows before its workers run again (a fresh plan)."""
    removed = 0
    with transaction(conn) as cur:
        for table in (tables.staging, tables.rejects):
            cur.execute(_template("delete_run_rows.sql", table=tables.ident(table)), {"run_id": run_id})
            removed += cur.rowcount
    return removed


def write_chunk(
    conn: Any,
    tables: Tables,
    layout: Layout,
    run_id: str,
    worker_id: str,
    rows: Sequence[tuple[int, dict[str, Any]]],
    rejects: Sequence[tuple[int, str, str]],
) -> None:
    """Replace this worker's staging and reject rows for the run, in one transaction."""
    params = {"run_id": run_id, "worker_id": worker_id}
    with transaction(conn) as cur:
        for table in (tables.staging, tables.rejects):
            cur.execute(_template("delete_worker_rows.sql", table=tables.ident(table)), params)
        if rows:
            execute_values(
                cur,
                _template(
                    "insert_staging.sql", staging=tables.ident(tables.staging), columns=_columns(layout.names)
                ).as_string(cur),
                [(run_id, worker_id, line_no, *(record[n] for n in layout.names)) for line_no, record in rows],
                page_size=INSERT_PAGE_SIZE,
            )
        if rejects:
            execute_values(
                cur,
                _template("insert_rejects.sql", rejects=tables.ident(tables.rejects)).as_string(cur),
                [(run_id, worker_id, line_no, reason, record) for line_no, reason, record in rejects],
                page_size=INSERT_PAGE_SIZE,
            )


def merge_final(conn: Any, tables: Tables, layout: Layout, run_id: str) -> int:
    """MERGE the run's staging rows into the final table; returns the rows it inserted or updated."""
    others = [n for n in layout.names if n not in layout.key]
    key_match = sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier("f", k), sql.Identifier("s", k)) for k in layout.key
    )
    set_columns = (
        sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(n), sql.Identifier("s", n)) for n in others)
        if others
        else sql.SQL("{} = {}").format(sql.Identifier(layout.key[0]), sql.Identifier("s", layout.key[0]))
    )
    statement = _template(
        "merge_final.sql",
        final=tables.ident(tables.final),
        staging=tables.ident(tables.staging),
        key_columns=_columns(layout.key),
        columns=_columns(layout.names),
        key_match=key_match,
        set_columns=set_columns,
        source_columns=_columns(layout.names, "s"),
    )
    with transaction(conn) as cur:
        cur.execute(statement, {"run_id": run_id})
        return cur.rowcount
