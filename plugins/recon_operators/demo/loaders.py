"""The demo's built-in load steps: Source files -> Transformation (Postgres) -> Stage (MariaDB) -> Target (Postgres).

Why it exists: the reconciliation gates need real hops to check. Each step moves one batch (an
MSISDN block) of each dataset one layer down. No Airflow imports: callers hand in live connections.
The steps carry no fault code: ``demo.faults.with_faults`` wraps a step to corrupt what it hands on
(each dataset's batch passes ``through`` a callable on its way), so a gate has something exact to catch.

Only migratable subscribers migrate: the Transformation load writes subscribers whose
``migratable`` is true (NULL counts as not migratable) and only those subscribers' rows of every
other dataset. The excluded subscribers go to ``{schema}.non_migratable_subscribers`` (who, and
why) in the same transaction, so Mini Recon 1 can account for every landed subscriber. Stage and
Target copy from Transformation, so they carry migratable rows only and no exclusion table.

Idempotency: a step replaces the batch's rows (``msisdn`` in the batch range, and the cohort when
the table has ``cohort_id``) in ONE transaction per layer, so a rerun never duplicates and a
failure anywhere in the step rolls back to the previous rows. Tables and indexes are created
from the dataset's Arrow schema (``landing.DATASETS``) by ``layer_tables``, before and outside
that transaction (``prepare_layers`` does it once for a run), so batches of one hop can load at
the same time: a batch transaction takes row locks on its own batch only (MariaDB's runs READ
COMMITTED, which locks no gaps next to the batch's range).

Bulk paths are columnar where the driver allows: Postgres in and out via ``COPY`` of CSV written
and parsed by pyarrow. MariaDB has no COPY and LOAD DATA LOCAL needs a client flag the caller's
connection may lack, so it uses batched ``executemany`` (multi-row INSERTs) and ``fetchmany``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs

from recon_operators.demo.layer_tables import ensure_mariadb, ensure_postgres
from recon_operators.engine.identifiers import quote_ident, validate_identifier
from recon_operators.errors import one_line
from recon_operators.migration.landing import (
    DATASETS,
    NON_MIGRATABLE,
    NON_MIGRATABLE_SCHEMA,
    BatchRange,
    LoadError,
    read_landing,
)
from recon_operators.paths import read_sql

__all__ = ["load_transform", "load_stage", "load_target", "prepare_layers", "migratable_mask", "Through"]

_CHUNK = 2_000  # rows per MariaDB round trip

# What a step's ``through`` sees: (dataset, the batch's rows on their way to the next layer) -> rows written.
Through = Callable[[str, pa.Table], pa.Table]


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    try:
        import psycopg2

        errors.append(psycopg2.Error)
    except ImportError:  # pragma: no cover - both drivers are in the venv
        pass
    try:
        import MySQLdb

        errors.append(MySQLdb.Error)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


_DB_ERRORS = _driver_errors()


@dataclass
class _Where:
    """What a transaction is working on, named in its error (the body narrows it as it goes)."""

    name: str


@contextmanager
def _transaction(conn: Any, where: str) -> Iterator[_Where]:
    """Commit the body's work at its end; on any failure roll back first (the old rows stay), and
    turn a driver error into a one-line ``LoadError`` naming where it happened."""
    place = _Where(where)
    try:
        yield place
        conn.commit()
    except BaseException as exc:
        _quiet_rollback(conn)
        if isinstance(exc, _DB_ERRORS):
            raise LoadError(f"{place.name}: {one_line(exc)}") from None
        raise


def _quiet_rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001 - the connection may be the thing that broke
        pass


# ------------------------------------------------------------------------------------ tables


def _datasets(datasets: Sequence[str] | None) -> list[str]:
    names = list(DATASETS) if datasets is None else list(datasets)
    for name in names:
        if name not in DATASETS:
            raise ValueError(f"dataset {name!r} must be one of {', '.join(DATASETS)}")
        validate_identifier(name)
    return names


def _batch_where(schema: pa.Schema, batch: BatchRange, cohort_id: str, dialect: str) -> tuple[str, list[Any]]:
    length = "length" if dialect == "postgres" else "CHAR_LENGTH"
    msisdn = quote_ident("msisdn", dialect)
    sql = f"{msisdn} BETWEEN %s AND %s AND {length}({msisdn}) = %s"
    params: list[Any] = [batch.msisdn_start, batch.msisdn_end, batch.width]
    if "cohort_id" in schema.names:
        sql += f" AND {quote_ident('cohort_id', dialect)} = %s"
        params.append(cohort_id)
    return sql, params


# ---------------------------------------------------------------------------------- postgres


def _pg_table(schema: str, dataset: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(dataset)}"


def _transform_tables(names: Sequence[str]) -> list[str]:
    """The Transformation tables a load of ``names`` writes: the exclusion record comes with subscribers."""
    return [NON_MIGRATABLE, *names] if "subscribers" in names else list(names)


def _arrow_schemas(names: Iterable[str]) -> dict[str, pa.Schema]:
    return {name: NON_MIGRATABLE_SCHEMA if name == NON_MIGRATABLE else DATASETS[name].schema for name in names}


def _pg_replace(cur: Any, schema: str, dataset: str, table: pa.Table, batch: BatchRange, cohort_id: str) -> int:
    """Inside the caller's transaction: delete the batch's rows, COPY the new ones in. No DDL here."""
    where, params = _batch_where(table.schema, batch, cohort_id, "postgres")
    cur.execute(f"DELETE FROM {_pg_table(schema, dataset)} WHERE {where}", params)
    buffer = io.BytesIO()
    # One chunk: pyarrow 26's CSV writer emits garbage bytes when a table's first chunk is empty,
    # which a filtered dataset read produces whenever the first file block holds no batch rows.
    pacsv.write_csv(
        table.combine_chunks(), buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed")
    )
    buffer.seek(0)
    columns = ", ".join(quote_ident(name) for name in table.column_names)
    cur.copy_expert(f"COPY {_pg_table(schema, dataset)} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    return table.num_rows


def _pg_write(
    pg_conn: Any,
    schema: str,
    tables: Iterable[tuple[str, pa.Table]],
    names: Sequence[str],
    batch: BatchRange,
    cohort_id: str,
    layer: str,
) -> dict[str, int]:
    """Replace each dataset's batch in one Postgres transaction; any failure restores the old rows.

    ``names`` are the tables ``tables`` will yield: missing ones are created first, outside it."""
    validate_identifier(schema)
    if getattr(pg_conn, "autocommit", False):
        raise ValueError(f"{layer}: the Postgres connection must not be in autocommit mode")
    written: dict[str, int] = {}
    with _transaction(pg_conn, f"{layer} {schema}") as where:
        ensure_postgres(pg_conn, schema, _arrow_schemas(names))
        with pg_conn.cursor() as cur:
            for dataset, table in tables:  # tables is lazy: reading and ``through`` also fail inside it
                where.name = f"{layer} {schema}.{dataset}"
                written[dataset] = _pg_replace(cur, schema, dataset, table, batch, cohort_id)
    return written


def _pg_read(pg_conn: Any, schema: str, dataset: str, batch: BatchRange, cohort_id: str) -> pa.Table:
    """The batch's rows as an Arrow table: COPY ... TO STDOUT CSV, parsed by pyarrow (UTC timestamps)."""
    arrow = DATASETS[dataset].schema
    where, params = _batch_where(arrow, batch, cohort_id, "postgres")
    columns = ", ".join(quote_ident(name) for name in arrow.names)
    buffer = io.BytesIO()
    with _transaction(pg_conn, f"read {schema}.{dataset}"):  # the commit ends the read SET LOCAL lives in
        with pg_conn.cursor() as cur:
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            select = cur.mogrify(f"SELECT {columns} FROM {_pg_table(schema, dataset)} WHERE {where}", params)
            cur.copy_expert(f"COPY ({select.decode()}) TO STDOUT WITH (FORMAT csv)", buffer)
    if not buffer.getbuffer().nbytes:
        return arrow.empty_table()
    buffer.seek(0)
    convert = pacsv.ConvertOptions(
        column_types=arrow,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    read = pacsv.ReadOptions(column_names=arrow.names)
    table = pacsv.read_csv(
        buffer, read_options=read, convert_options=convert, parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    return table.select(arrow.names).cast(arrow)


# ----------------------------------------------------------------------------------- mariadb


def _python_columns(batch: pa.RecordBatch) -> list[list[Any]]:
    """Driver-ready values: timestamps become naive UTC datetimes (DATETIME has no zone)."""
    out: list[list[Any]] = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp(column.type.unit))
        out.append(column.to_pylist())
    return out


def _my_insert(cur: Any, dataset: str, table: pa.Table) -> None:
    names = ", ".join(quote_ident(n, "mariadb") for n in table.column_names)
    marks = ", ".join(["%s"] * table.num_columns)
    sql = f"INSERT INTO {quote_ident(dataset, 'mariadb')} ({names}) VALUES ({marks})"
    for chunk in table.to_batches(max_chunksize=_CHUNK):
        if chunk.num_rows:
            cur.executemany(sql, list(zip(*_python_columns(chunk))))


def _my_write(
    mysql_conn: Any, tables: Iterable[tuple[str, pa.Table]], names: Sequence[str], batch: BatchRange, cohort_id: str
) -> dict[str, int]:
    """Missing tables first (DDL commits by itself), then delete + insert of every dataset in one
    READ COMMITTED transaction, which locks the batch's rows and no gaps beside them."""
    written: dict[str, int] = {}
    with _transaction(mysql_conn, "stage MariaDB") as place:
        ensure_mariadb(mysql_conn, _arrow_schemas(names))
        cur = mysql_conn.cursor()
        cur.execute(read_sql("layers/mariadb_batch_isolation.sql", package="recon_operators.demo"))
        for dataset, table in tables:
            place.name = f"stage {dataset}"
            where, params = _batch_where(table.schema, batch, cohort_id, "mariadb")
            cur.execute(f"DELETE FROM {quote_ident(dataset, 'mariadb')} WHERE {where}", params)
            _my_insert(cur, dataset, table)
            written[dataset] = table.num_rows
    return written


def _arrow_column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        return pa.array(values, pa.timestamp(kind.unit)).cast(kind)  # naive UTC -> zoned UTC
    if pa.types.is_boolean(kind):
        return pa.array(values, pa.int8()).cast(kind)
    if pa.types.is_string(kind):
        values = [v.decode() if isinstance(v, bytes) else v for v in values]
    return pa.array(values, kind)


def _my_read(mysql_conn: Any, dataset: str, batch: BatchRange, cohort_id: str) -> pa.Table:
    """The batch's stage rows as Arrow, fetched in chunks and converted column by column."""
    arrow = DATASETS[dataset].schema
    where, params = _batch_where(arrow, batch, cohort_id, "mariadb")
    columns = ", ".join(quote_ident(n, "mariadb") for n in arrow.names)
    batches: list[pa.RecordBatch] = []
    with _transaction(mysql_conn, f"read stage {dataset}"):  # the commit lets the next read see fresh rows
        cur = mysql_conn.cursor()
        cur.execute(f"SELECT {columns} FROM {quote_ident(dataset, 'mariadb')} WHERE {where}", params)
        while rows := cur.fetchmany(_CHUNK):
            cols = list(zip(*rows))
            batches.append(pa.record_batch([_arrow_column(c, f.type) for c, f in zip(cols, arrow)], schema=arrow))
    return pa.Table.from_batches(batches, schema=arrow)


# -------------------------------------------------------------------------------------- steps


def _unchanged(dataset: str, table: pa.Table) -> pa.Table:
    return table


def migratable_mask(subscribers: pa.Table) -> pa.Array:
    """True for subscribers that migrate: only an explicit true does (NULL is not migratable)."""
    return pc.fill_null(subscribers["migratable"], False)


def load_transform(
    *,
    landing_fs: pafs.FileSystem,
    landing_base: str,
    cohort_id: str,
    batch: BatchRange,
    pg_conn: Any,
    schema: str = "transform",
    datasets: Sequence[str] | None = None,
    through: Through = _unchanged,
) -> dict[str, int]:
    """Landing files -> Postgres ``{schema}.{dataset}`` for one batch, migratable subscribers only.

    The batch's landed subscribers decide who migrates (they are read even when ``datasets``
    leaves them out); every other dataset keeps only those subscribers' rows. With
    ``subscribers`` in ``datasets`` the excluded ones are written to ``{schema}.non_migratable_subscribers``
    in the same transaction. ``through`` sees the migratable rows. Returns rows written per table.
    """
    names = _datasets(datasets)

    def tables() -> Iterable[tuple[str, pa.Table]]:
        subscribers = read_landing(landing_fs, landing_base, cohort_id, "subscribers", batch)
        migratable = migratable_mask(subscribers)
        members = pc.filter(subscribers["msisdn"], migratable)
        for name in names:
            if name == "subscribers":
                table = subscribers.filter(migratable)
                excluded = subscribers.filter(pc.invert(migratable))
                yield NON_MIGRATABLE, excluded.select(NON_MIGRATABLE_SCHEMA.names).cast(NON_MIGRATABLE_SCHEMA)
            else:
                table = read_landing(landing_fs, landing_base, cohort_id, name, batch)
                table = table.filter(pc.is_in(table["msisdn"], value_set=members))
            yield name, through(name, table)

    return _pg_write(pg_conn, schema, tables(), _transform_tables(names), batch, cohort_id, "transform")


def load_stage(
    *,
    pg_conn: Any,
    mysql_conn: Any,
    cohort_id: str,
    batch: BatchRange,
    schema: str = "transform",
    datasets: Sequence[str] | None = None,
    through: Through = _unchanged,
) -> dict[str, int]:
    """Postgres ``{schema}.{dataset}`` -> MariaDB ``{dataset}`` for one batch; returns rows written."""
    names = _datasets(datasets)
    validate_identifier(schema)

    def tables() -> Iterable[tuple[str, pa.Table]]:
        for name in names:
            yield name, through(name, _pg_read(pg_conn, schema, name, batch, cohort_id))

    return _my_write(mysql_conn, tables(), names, batch, cohort_id)


def load_target(
    *,
    mysql_conn: Any,
    target_conn: Any,
    cohort_id: str,
    batch: BatchRange,
    schema: str = "target",
    datasets: Sequence[str] | None = None,
    through: Through = _unchanged,
) -> dict[str, int]:
    """MariaDB stage ``{dataset}`` -> Postgres ``{schema}.{dataset}`` for one batch; returns rows written."""
    names = _datasets(datasets)

    def tables() -> Iterable[tuple[str, pa.Table]]:
        for name in names:
            yield name, through(name, _my_read(mysql_conn, name, batch, cohort_id))

    return _pg_write(target_conn, schema, tables(), names, batch, cohort_id, "target")


def prepare_layers(
    *,
    transform_conn: Any = None,
    stage_conn: Any = None,
    target_conn: Any = None,
    transform_schema: str = "transform",
    target_schema: str = "target",
    datasets: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """Create the tables and indexes of every layer given a connection, before a run's batches
    load at the same time; returns, per layer, the tables that needed DDL (empty once they exist).

    A DDL statement waits for the batches loading into its table; run once per run, before the
    mapped loads, no batch is loading yet (see ``layer_tables``)."""
    names = _datasets(datasets)
    created: dict[str, list[str]] = {}
    layer = "transform"
    try:
        if transform_conn is not None:
            created[layer] = ensure_postgres(transform_conn, transform_schema, _arrow_schemas(_transform_tables(names)))
        if stage_conn is not None:
            layer = "stage"
            created[layer] = ensure_mariadb(stage_conn, _arrow_schemas(names))
        if target_conn is not None:
            layer = "target"
            created[layer] = ensure_postgres(target_conn, target_schema, _arrow_schemas(names))
    except _DB_ERRORS as exc:
        raise LoadError(f"prepare {layer} tables: {one_line(exc)}") from None
    return created
