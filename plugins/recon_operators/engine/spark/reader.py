"""Where a Spark side's rows come from: Parquet/CSV files, or a Postgres/MariaDB table or query
through JDBC read in partitions on the key.

* Files: ``s3://`` becomes ``s3a://`` (a cluster that carries the hadoop-aws connector reads it;
  docs/spark.md says how to configure it); CSV is read as text (every column a string), as the
  default engine does, and its types are inferred from a sample.
* JDBC: the table (or ``(query)``) with the side's filter applied *in the database*, so a suite's
  filter means the same on both engines; its ``:name`` parameters become quoted literals, since a
  JDBC ``dbtable`` cannot carry bound parameters. A numeric key is read as ``partitionColumn``
  between its min and max; a text key as one hash predicate per partition. Every session is
  read-only and in UTC.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.logical_types import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    LogicalType,
    text,
)
from recon_operators.engine.spec import SQL_PARAMETER

DRIVERS = {"postgres": "org.postgresql.Driver", "mysql": "org.mariadb.jdbc.Driver"}
# Read-only sessions (the default engine reads in a read-only transaction too).
SESSION_INIT = {
    "postgres": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "mysql": "SET SESSION TRANSACTION READ ONLY",
}
FETCH_SIZE = "10000"


def spark_path(path: str) -> str:
    """``s3://bucket/key`` -> ``s3a://bucket/key`` (Hadoop's S3 connector); local paths as they are."""
    return "s3a://" + path[len("s3://") :] if path.startswith("s3://") else path


def jdbc_url(info: ConnectionInfo) -> str:
    """The JDBC URL of a Postgres or MariaDB connection (no credentials in it).

    MariaDB goes as ``jdbc:mysql://`` so Spark picks its MySQL dialect (backquoted names); the
    MariaDB driver takes that scheme (``permitMysqlScheme`` for Connector/J 3)."""
    host, db = info.host or "127.0.0.1", info.schema or ""
    if info.conn_type == "postgres":
        return f"jdbc:postgresql://{host}:{info.port or 5432}/{db or 'postgres'}"
    if info.conn_type == "mysql":
        return f"jdbc:mysql://{host}:{info.port or 3306}/{db}"
    raise SourceError(f"the spark engine reads postgres and mysql connections through JDBC, not {info.conn_type}")


def jdbc_options(info: ConnectionInfo) -> dict[str, str]:
    options = {
        "url": jdbc_url(info),
        "driver": DRIVERS[info.conn_type],
        "fetchsize": FETCH_SIZE,
        "sessionInitStatement": SESSION_INIT[info.conn_type],
    }
    if info.login:
        options["user"] = info.login
    if info.password:
        options["password"] = info.password
    if info.conn_type == "mysql":
        options.update(permitMysqlScheme="true", sessionVariables="time_zone='+00:00'")
    return options


def spark_type(data_type: Any) -> LogicalType:
    """A Spark SQL type as a logical type (Parquet sides)."""
    from pyspark.sql import types as T

    declared = data_type.simpleString()
    if isinstance(data_type, T.BooleanType):
        return LogicalType(BOOLEAN, declared=declared)
    if isinstance(data_type, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return LogicalType(INTEGER, declared=declared)
    if isinstance(data_type, T.DecimalType):
        return LogicalType(DECIMAL, precision=data_type.precision, scale=data_type.scale, declared=declared)
    if isinstance(data_type, (T.FloatType, T.DoubleType)):
        return LogicalType(FLOAT, precision=24 if isinstance(data_type, T.FloatType) else 53, declared=declared)
    if isinstance(data_type, T.TimestampNTZType):
        return LogicalType(TIMESTAMP, precision=6, declared=declared)
    if isinstance(data_type, T.TimestampType):
        return LogicalType(TIMESTAMPTZ, precision=6, declared=declared)
    if isinstance(data_type, T.DateType):
        return LogicalType(DATE, declared=declared)
    if declared.startswith("time"):
        return LogicalType(TIME, precision=6, declared=declared)
    if isinstance(data_type, T.BinaryType):
        return LogicalType(BINARY, declared=declared)
    if isinstance(data_type, (T.StructType, T.ArrayType, T.MapType)):
        return LogicalType(JSON, declared=declared)
    return text(declared)


def read_files(spark: Any, path: str, fmt: str, csv: Mapping[str, Any]) -> Any:
    """A DataFrame over Parquet or CSV files (a file, a folder or a glob)."""
    reader = spark.read
    if fmt == "parquet":
        return reader.parquet(spark_path(path))
    if str(csv.get("encoding", "utf8")).lower() not in ("utf8", "utf-8"):
        reader = reader.option("encoding", str(csv["encoding"]))
    return (
        reader.option("header", "false" if csv.get("header") is False else "true")
        .option("sep", str(csv.get("delimiter", ",")))
        .option("quote", '"')
        .option("escape", '"')
        # an unquoted empty field is NULL, a quoted "" is '' (as DuckDB reads them): NUL never occurs in text
        .option("nullValue", "\u0000")
        # quoted values may hold newlines, so a file is read by one task; csv: {multiline: false}
        # (no newline inside a value) lets Spark split a big file across cores
        .option("multiLine", "false" if csv.get("multiline") is False else "true")
        .option("inferSchema", "false")
        .option("mode", "FAILFAST")
        .csv(spark_path(path))
    )


@dataclass(frozen=True)
class Partitioning:
    """How a JDBC read is split: ``column`` between ``lower``/``upper`` (a numeric key), or one
    predicate per partition (a text key)."""

    count: int
    column: str | None = None
    lower: Any = None
    upper: Any = None
    predicates: tuple[str, ...] = ()


def jdbc_partitions(default: int) -> int:
    return max(1, int(os.environ.get("RECON_SPARK_JDBC_PARTITIONS", default)))


def hash_predicates(conn_type: str, quoted: str, count: int) -> tuple[str, ...]:
    """One predicate per partition on a text key; NULL keys go to the first."""
    bucket = (
        f"mod(abs(hashtext(CAST({quoted} AS text))), {count})"
        if conn_type == "postgres"
        else f"MOD(CRC32({quoted}), {count})"
    )
    return tuple(f"{bucket} = {i}" + (f" OR {quoted} IS NULL" if i == 0 else "") for i in range(count))


def inline_filter(filter_sql: str, values: Mapping[str, Any], literal: Any, label: str) -> str:
    """The filter with its ``:name`` parameters as quoted literals of the database's dialect."""
    needed = sorted(set(SQL_PARAMETER.findall(filter_sql)))
    absent = [n for n in needed if values.get(n) in (None, "")]
    if absent:
        raise SourceError(f"{label}: filter needs :{absent[0]} but the scope has no {absent[0]}")
    return SQL_PARAMETER.sub(lambda m: literal(str(values[m.group(1)])), filter_sql)


def read_jdbc(spark: Any, info: ConnectionInfo, relation: str, partitioning: Partitioning | None) -> Any:
    reader = spark.read.format("jdbc").options(**jdbc_options(info))
    if partitioning and partitioning.column and partitioning.count > 1:
        reader = reader.options(
            dbtable=relation,
            partitionColumn=partitioning.column,
            lowerBound=str(partitioning.lower),
            upperBound=str(partitioning.upper),
            numPartitions=str(partitioning.count),
        )
        return reader.load()
    if partitioning and partitioning.predicates:
        options = jdbc_options(info)
        url = options.pop("url")
        return spark.read.jdbc(url, relation, predicates=list(partitioning.predicates), properties=options)
    return reader.option("dbtable", relation).load()
