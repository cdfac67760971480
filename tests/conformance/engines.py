"""Engine providers for the conformance suite: how each engine creates a dataset of the logical
types in ``cases`` and loads values into it, and how its adapter is opened.

A new engine joins the suite by one entry in ``PROVIDERS``: a provider with ``declared`` (its
type for each logical kind), ``write(name, cases, rows) -> SideSpec`` and, when it cannot be
reached by a URL, ``open(side)``. The tests then run every engine pair unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, MARIADB_USER, pg_dsn
from recon_operators.engine.adapters.base import Adapter
from recon_operators.engine.opener import open_side
from recon_operators.engine.spec import SideSpec
from tests.conformance.cases import Case


class Provider:
    name = "engine"
    declared: dict[str, str] = {}

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        raise NotImplementedError

    def open(self, side: SideSpec) -> Adapter:
        return open_side(side, self.name)


class Postgres(Provider):
    name = "postgres"
    declared = {
        "integer": "bigint",
        "integer38": "numeric(38,0)",
        "decimal38_20": "numeric(38,20)",
        "float": "double precision",
        "boolean": "boolean",
        "timestamp6": "timestamp(6)",
        "timestamp3": "timestamp(3)",
        "timestamptz": "timestamptz",
        "date": "date",
        "time": "time(6)",
        "text": "text",
        "uuid": "uuid",
        "json": "jsonb",
        "binary": "bytea",
    }

    def __init__(self, database: str):
        self.database = database

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        import psycopg2
        from psycopg2.extras import Json, register_uuid

        register_uuid()
        conn = psycopg2.connect(pg_dsn(self.database))
        columns = ["id", *(c.column for c in cases)]
        with conn, conn.cursor() as cur:
            cur.execute(
                f"CREATE TABLE {name} (id integer, "
                + ", ".join(f"{c.column} {self.declared[c.kind]}" for c in cases)
                + ")"
            )
            values = [[Json(r[col]) if isinstance(r[col], (dict, list)) else r[col] for col in columns] for r in rows]
            cur.executemany(f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(columns))})", values)
        conn.close()
        return SideSpec(connection=pg_dsn(self.database), table=name)


class MariaDB(Provider):
    name = "mariadb"
    declared = {
        "integer": "BIGINT",
        "integer38": "DECIMAL(38,0)",
        "decimal38_20": "DECIMAL(38,20)",
        "float": "DOUBLE",
        "boolean": "TINYINT(1)",
        "timestamp6": "DATETIME(6)",
        "timestamp3": "DATETIME(3)",
        "timestamptz": "TIMESTAMP(6) NULL",
        "date": "DATE",
        "time": "TIME(6)",
        "text": "TEXT",
        "uuid": "UUID",
        "json": "JSON",
        "binary": "VARBINARY(64)",
    }

    def __init__(self, database: str):
        self.database = database

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        import MySQLdb

        def value(v: Any) -> Any:
            if isinstance(v, (dict, list)):
                return json.dumps(v, separators=(", ", ": "))
            if isinstance(v, uuid.UUID):
                return str(v).upper()  # UUID columns print lower case whatever was written
            if isinstance(v, datetime) and v.tzinfo is not None:
                return v.astimezone(UTC).replace(tzinfo=None)  # the session runs in UTC
            return v

        conn = MySQLdb.connect(
            host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, passwd="", db=self.database, charset="utf8mb4"
        )
        columns = ["id", *(c.column for c in cases)]
        try:
            cur = conn.cursor()
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(
                f"CREATE TABLE {name} (id INT, "
                + ", ".join(f"{c.column} {self.declared[c.kind]}" for c in cases)
                + ") CHARSET utf8mb4"
            )
            cur.executemany(
                f"INSERT INTO {name} VALUES ({', '.join(['%s'] * len(columns))})",
                [[value(r[col]) for col in columns] for r in rows],
            )
            conn.commit()
        finally:
            conn.close()
        return SideSpec(connection=f"mysql://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{self.database}", table=name)


def _csv_text(value: Any) -> str:
    """How a CSV export spells each value (typed nowhere: the adapter infers the types)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # the same instant, written in +07:00 with its offset
            return value.astimezone(timezone(__import__("datetime").timedelta(hours=7))).isoformat(sep=" ")
        return value.isoformat(sep=" ")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(" , ", " : "))  # other spacing than the databases print
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CsvFiles(Provider):
    name = "csv"

    def __init__(self, folder: Path):
        self.folder = folder

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        path = self.folder / f"{name}.csv"
        columns = ["id", *(c.column for c in cases)]

        def field(value: Any) -> str:  # NULL unquoted and empty, every other value quoted ('' stays '')
            return "" if value is None else '"' + _csv_text(value).replace('"', '""') + '"'

        lines = [",".join(columns), *(",".join(field(row[c]) for c in columns) for row in rows)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return SideSpec(path=str(path), format="csv")


class ParquetFiles(Provider):
    name = "parquet"

    def __init__(self, folder: Path):
        self.folder = folder

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "integer": pa.int64(),
            "integer38": pa.decimal128(38, 0),
            "decimal38_20": pa.decimal128(38, 20),
            "float": pa.float64(),
            "boolean": pa.bool_(),
            "timestamp6": pa.timestamp("us"),
            "timestamp3": pa.timestamp("ms"),
            "timestamptz": pa.timestamp("us", tz="UTC"),
            "date": pa.date32(),
            "time": pa.time64("us"),
            "text": pa.string(),
            "uuid": pa.string(),
            "json": pa.string(),
            "binary": pa.binary(),
        }

        def value(v: Any) -> Any:
            if isinstance(v, (dict, list)):
                return json.dumps(v)
            if isinstance(v, uuid.UUID):
                return str(v)
            return v

        schema = pa.schema([("id", pa.int32()), *((c.column, types[c.kind]) for c in cases)])
        table = pa.Table.from_pylist([{k: value(v) for k, v in r.items()} for r in rows], schema=schema)
        path = self.folder / f"{name}.parquet"
        pq.write_table(table, path)
        return SideSpec(path=str(path), format="parquet")


class Mongo(Provider):
    """mongomock: a collection of documents; dates as BSON dates (milliseconds), times as text."""

    name = "mongo"

    def __init__(self) -> None:
        import mongomock

        self.database = mongomock.MongoClient()["conformance"]

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        from bson.decimal128 import Decimal128

        def value(v: Any) -> Any:
            if isinstance(v, Decimal):
                return Decimal128(v)
            if isinstance(v, datetime):
                return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v
            if isinstance(v, time):
                return v.isoformat()
            if isinstance(v, uuid.UUID):
                return str(v)
            if hasattr(v, "isoformat") and not isinstance(v, datetime):  # a date: BSON has only datetimes
                return datetime(v.year, v.month, v.day)
            return v

        documents = [{k: value(v) for k, v in r.items() if v is not None} for r in rows]  # a missing field is NULL
        self.database[name].insert_many(documents)
        return SideSpec(collection=name)

    def open(self, side: SideSpec) -> Adapter:
        from recon_operators.engine.adapters.mongo import MongoAdapter

        return MongoAdapter(self.database, side, connection_label="mongomock")


def _dynamodb_value(value: Any) -> dict[str, Any]:
    """A value as DynamoDB stores it: numbers as N, booleans as BOOL, documents as M/L, bytes as B;
    timestamps, dates, times and UUIDs as the strings an export writes (the CSV spellings)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, dict):
        return {"M": {k: _dynamodb_value(v) if v is not None else {"NULL": True} for k, v in value.items()}}
    if isinstance(value, list):
        return {"L": [_dynamodb_value(v) if v is not None else {"NULL": True} for v in value]}
    return {"S": _csv_text(value)}


class DynamoDB(Provider):
    """moto in server mode (a process of its own, started on first use): a table per dataset, an
    item per row, a NULL value as a missing attribute."""

    name = "dynamodb"

    def __init__(self) -> None:
        self._moto: Any = None

    def client(self) -> Any:
        if self._moto is None:
            import atexit

            from recon_operators.demo.services import MotoServer

            self._moto = MotoServer().start()
            atexit.register(self._moto.stop)
        return self._moto.client("dynamodb")

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        client = self.client()
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        )
        for row in rows:
            client.put_item(TableName=name, Item={k: _dynamodb_value(v) for k, v in row.items() if v is not None})
        return SideSpec(table=name)

    def open(self, side: SideSpec) -> Adapter:
        from recon_operators.engine.adapters.dynamodb import DynamoDBAdapter

        return DynamoDBAdapter(self.client(), side, connection_label="moto")


class OnSpark(Provider):
    """Another provider's storage read by the Spark engine (files, or JDBC for the databases)."""

    def __init__(self, name: str, storage: Provider):
        self.name = name
        self.storage = storage
        self.declared = storage.declared

    def write(self, name: str, cases: list[Case], rows: list[dict[str, Any]]) -> SideSpec:
        return self.storage.write(name, cases, rows)

    def open(self, side: SideSpec) -> Adapter:
        return open_side(side, self.name, engine="spark")


# One entry per engine: (the session's databases, a scratch folder) -> its provider.
PROVIDERS: dict[str, Callable[[dict[str, str], Path], Provider]] = {
    "postgres": lambda databases, folder: Postgres(databases["transform"]),
    "mariadb": lambda databases, folder: MariaDB(databases["stage"]),
    "csv": lambda databases, folder: CsvFiles(folder),
    "parquet": lambda databases, folder: ParquetFiles(folder),
    "mongo": lambda databases, folder: Mongo(),
    "dynamodb": lambda databases, folder: DynamoDB(),
    "spark_parquet": lambda databases, folder: OnSpark("spark_parquet", ParquetFiles(folder)),
    "spark_csv": lambda databases, folder: OnSpark("spark_csv", CsvFiles(folder)),
    "spark_postgres": lambda databases, folder: OnSpark("spark_postgres", Postgres(databases["transform"])),
    "spark_mariadb": lambda databases, folder: OnSpark("spark_mariadb", MariaDB(databases["stage"])),
}
ENGINE_NAMES = tuple(PROVIDERS)


def providers(databases: dict[str, str], folder: Path) -> dict[str, Provider]:
    return {name: make(databases, folder) for name, make in PROVIDERS.items()}
