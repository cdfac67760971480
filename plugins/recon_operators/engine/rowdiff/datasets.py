"""Dataset sides of a row diff: each streams its rows, as canonical text, into a DuckDB table.

Only bulk paths, no Python object per cell: Postgres sends ``COPY (SELECT ...) TO STDOUT`` CSV
and MariaDB one quoted CSV line per row through an unbuffered (server-side) cursor, both into a
spill file DuckDB then loads in parallel; files are scanned by DuckDB itself (CSV/Parquet,
local or S3 through Arrow datasets). Mongo documents are decoded by the driver anyway, so they
are normalised in Python batch by batch (``normalise.canonical_text``, as ``recon check`` does).
Every side applies the normalisation of ``dialects``/``normalise``, so values reach the join
already canonical and the two sides of a cross-engine diff agree on what "equal" means.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.dialects import DIALECTS, Dialect
from recon_operators.engine.identifiers import IdentifierError, quote_ident
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.engine.rowdiff.plan import DATE, NUMBER, TIMESTAMP, ColumnPlan, side_expression
from recon_operators.engine.sources.base import SourceError
from recon_operators.engine.spec import SQL_PARAMETER, SideSpec
from recon_operators.errors import first_line, one_line

FETCH_ROWS = 50_000
MONGO_BATCH = 10_000
PROBE_DOCUMENTS = 100

CHAR = "char"  # fixed-width text: Postgres pads it, so it goes through CAST(... AS text)
_PG_KINDS = {**dict.fromkeys((20, 21, 23, 700, 701, 1700), NUMBER), 1114: TIMESTAMP, 1184: TIMESTAMP, 1082: DATE,
             1042: CHAR}
_MYSQL_KINDS = {**dict.fromkeys((0, 1, 2, 3, 4, 5, 8, 9, 246), NUMBER), 7: TIMESTAMP, 12: TIMESTAMP,
                10: DATE, 14: DATE}


def csv_reader_sql(path: Path, names: list[str]) -> str:
    """DuckDB scan of a spill file: every column text, unquoted empty = NULL, ``""`` = ''."""
    columns = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    return (f"read_csv({_literal(str(path))}, header=false, quote='\"', escape='\"', delim=',', "
            f"allow_quoted_nulls=false, auto_detect=false, columns={{{columns}}})")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def arrow_kind(data_type: pa.DataType) -> str | None:
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return NUMBER
    if pa.types.is_timestamp(data_type):
        return TIMESTAMP
    if pa.types.is_date(data_type):
        return DATE
    return None


class Dataset:
    """One side. ``kinds()`` names its columns (and their kinds); ``stage()`` loads a DuckDB table
    whose VARCHAR columns are the plan's columns, in plan order, as canonical text."""

    label = "dataset"

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def kinds(self) -> dict[str, str | None]:
        raise NotImplementedError

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {one_line(exc)}")


class SqlDataset(Dataset):
    """A Postgres or MySQL/MariaDB table, or a query, with an optional SQL filter whose ``:name``
    parameters are bound from ``params``. ``connection`` is a DB-API connection (psycopg2 or
    MySQLdb); two datasets may share one, they are then read one after the other. ``native``:
    the same connection's settings, for the ``psql`` fast path of the Postgres COPY."""

    def __init__(self, connection: Any, engine: str, *, table: str | None = None, query: str | None = None,
                 filter: str | None = None, params: Mapping[str, Any] | None = None, label: str | None = None,
                 native: ConnectionInfo | None = None):
        if engine not in ("postgres", "mysql"):
            raise SourceError(f"unsupported SQL engine {engine!r} (postgres or mysql)")
        if bool(table) == bool(query):
            raise SourceError(f"{engine}: give a table or a query, not {'both' if table else 'neither'}")
        if query and ";" in query.strip().rstrip(";"):
            raise SourceError(f"{engine}: a query must be one SELECT statement")
        self.connection = connection
        self.native = native  # lets Postgres COPY run through psql (libpq, no Python per row) when installed
        self.dialect: Dialect = DIALECTS[engine]
        self.engine = engine
        self.table, self.query, self.filter = table, (query or "").strip().rstrip(";") or None, filter
        self.params = dict(params or {})
        self.label = label or f"{engine} {table or 'query'}"
        self._kinds: dict[str, str | None] | None = None
        try:
            self._from = self.dialect.qualified(table) if table else f"({self.query}) AS recon_query"
        except IdentifierError as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    def describe(self) -> dict[str, Any]:
        out = {"engine": self.engine, "relation": self.table or "query", "label": self.label}
        if self.filter:
            out["filter"] = self.filter
        return out

    def _run(self, work: Callable[[Any], Any], cursor_class: Any = None) -> Any:
        """``work(cursor)`` in a UTC session, driver errors as one line, the transaction ended."""
        try:
            cursor = self.connection.cursor(cursor_class) if cursor_class else self.connection.cursor()
            try:
                cursor.execute("SET TIME ZONE 'UTC'" if self.engine == "postgres" else "SET time_zone = '+00:00'")
                return work(cursor)
            finally:
                cursor.close()
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - each driver has its own error classes
            raise self.fail(exc) from None
        finally:
            try:
                self.connection.rollback()  # read-only: hold no snapshot open
            except Exception:  # noqa: BLE001
                pass

    def kinds(self) -> dict[str, str | None]:
        def probe(cursor: Any) -> dict[str, str | None]:
            cursor.execute(f"SELECT * FROM {self._from} WHERE 1 = 0")
            table = _PG_KINDS if self.engine == "postgres" else _MYSQL_KINDS
            return {d[0]: table.get(d[1]) for d in cursor.description}
        if self._kinds is None:
            self._kinds = self._run(probe)
        return {name: None if kind == CHAR else kind for name, kind in self._kinds.items()}

    def _expression(self, plan: ColumnPlan, side: str) -> str:
        """The column as is when the engine's own text output is already canonical (text,
        numbers compared by value), which spares the server a cast per value."""
        column = self.dialect.quote(plan.name)
        native = (self._kinds or {}).get(plan.name)
        if plan.rule(side) == ColumnRule() and native in (None, NUMBER) and (plan.numeric or native is None):
            return column
        return side_expression(self.dialect, column, plan.rule(side), plan.numeric, False)

    def select(self, plans: list[ColumnPlan], side: str) -> tuple[list[str], str, dict[str, Any]]:
        """Canonical column expressions, the FROM/WHERE tail with %(name)s placeholders, params."""
        try:
            exprs = [self._expression(p, side) for p in plans]
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        tail = f" FROM {self._from}"
        if self.filter:
            tail += f" WHERE ({self.filter})"
        needed = sorted(set(SQL_PARAMETER.findall(tail)))
        absent = [n for n in needed if self.params.get(n) in (None, "")]
        if absent:
            raise SourceError(f"{self.label}: the filter needs :{absent[0]} but no value was given for it")
        tail = SQL_PARAMETER.sub(lambda m: f"\x00{m.group(1)}\x00", tail).replace("%", "%%")
        tail = re.sub("\x00([a-z_][a-z0-9_]*)\x00", r"%(\1)s", tail)
        return exprs, tail, {n: self.params[n] for n in needed}

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path) -> None:
        exprs, tail, params = self.select(plans, side)
        spill = spill_dir / f"{table}.csv"
        if self.engine == "postgres":
            self._run(lambda cursor: self._copy_postgres(cursor, exprs, tail, params, spill, self.native))
        else:
            import MySQLdb.cursors  # unbuffered: rows stream from the server, client memory stays flat

            self._run(lambda cursor: self._stream_mysql(cursor, exprs, plans, tail, params, spill),
                      MySQLdb.cursors.SSCursor)
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM {csv_reader_sql(spill, [p.name for p in plans])}")
        spill.unlink()

    @staticmethod
    def _copy_postgres(cursor: Any, exprs: list[str], tail: str, params: dict[str, Any], spill: Path,
                       native: ConnectionInfo | None) -> None:
        """psql when it is installed (libpq writes the file; psycopg2 would call Python once per
        row, which doubles the time), else psycopg2's copy_expert. Both in UTC."""
        select = cursor.mogrify(f"SELECT {', '.join(exprs)}{tail}", params).decode()
        copy = f"COPY ({select}) TO STDOUT WITH (FORMAT csv)"
        with open(spill, "wb", buffering=1 << 20) as out:
            if native is not None and shutil.which("psql"):
                _psql_copy(native, copy, out)
            else:
                cursor.copy_expert(copy, out)

    def _plain_text(self, plan: ColumnPlan) -> bool:
        """Numbers, dates and timestamps never hold a quote, comma or newline, nor render as ''."""
        return (self._kinds or {}).get(plan.name) in (NUMBER, DATE, TIMESTAMP)

    def _stream_mysql(self, cursor: Any, exprs: list[str], plans: list[ColumnPlan], tail: str,
                      params: dict[str, Any], spill: Path) -> None:
        """One CSV line per row, built by the server (CONCAT_WS of quoted values; NULL stays an
        unquoted empty field): one Python string per row, none per value."""
        quoted = [f"IFNULL({e}, '')" if self._plain_text(p) else f"IFNULL(CONCAT('\"', REPLACE({e}, '\"', '\"\"'), '\"'), '')"
                  for e, p in zip(exprs, plans)]
        # The driver %-formats the whole statement (the tail's own '%' are doubled already).
        cursor.execute(f"SELECT CONCAT_WS(',', {', '.join(quoted)})".replace("%", "%%") + tail, params)
        with open(spill, "w", encoding="utf-8", buffering=1 << 20, newline="") as out:
            while rows := cursor.fetchmany(FETCH_ROWS):
                out.write("\n".join([row[0] for row in rows]))
                out.write("\n")

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001
            pass


class FileDataset(Dataset):
    """CSV or Parquet, local or ``s3://`` (pass an Arrow ``filesystem`` for S3), a folder or a
    glob; ``filter`` is a DuckDB predicate. CSV columns are read as text, so ``10.10`` keeps its
    digits until the plan compares it as a number."""

    def __init__(self, path: str, format: str | None = None, *, filesystem: Any = None, filter: str | None = None,
                 csv: Mapping[str, Any] | None = None, label: str | None = None):
        from recon_operators.engine.sources.files import FileSource

        self.format = format or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")
        self.path, self.filter, self.csv = path, filter, dict(csv or {})
        self.label = label or f"file {path}"
        self.local = filesystem is None and not path.startswith("s3://")
        try:
            self.dataset = FileSource._dataset(SideSpec(path=path, format=self.format, csv=self.csv), filesystem,
                                               empty_is_null=True)
        except SourceError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise self.fail(exc) from None

    def describe(self) -> dict[str, Any]:
        out = {"engine": "file", "format": self.format, "path": self.path}
        if self.filter:
            out["filter"] = self.filter
        return out

    def kinds(self) -> dict[str, str | None]:
        return {f.name: arrow_kind(f.type) for f in self.dataset.schema}

    def _native_csv(self) -> str | None:
        """DuckDB's own parallel CSV reader for local UTF-8 files (twice as fast as an Arrow
        scan), with the same reading: every column text, unquoted empty = NULL, ``""`` = ''."""
        if not (self.local and self.format == "csv" and self.csv.get("encoding", "utf8").lower() in ("utf8", "utf-8")):
            return None
        files = self.dataset.files
        header = "false" if self.csv.get("header") is False else "true"
        names = ", ".join(_literal(n) for n in self.dataset.schema.names)
        return (f"read_csv([{', '.join(_literal(f) for f in files)}], header={header}, all_varchar=true, "
                f"delim={_literal(self.csv.get('delimiter', ','))}, quote='\"', escape='\"', "
                f"allow_quoted_nulls=false, names=[{names}])")

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path) -> None:
        dialect, textual = DIALECTS["duckdb"], self.format == "csv"
        view = f"{table}_input"
        try:
            exprs = [f"{side_expression(dialect, quote_ident(p.name), p.rule(side), p.numeric, textual)} "
                     f"AS {quote_ident(p.name)}" for p in plans]
            native = self._native_csv()
            if native:
                duck.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM {native}")
            else:
                duck.register(view, self.dataset)
            duck.execute("SET TimeZone = 'UTC'")
            where = f" WHERE ({self.filter})" if self.filter else ""
            duck.execute(f"CREATE TABLE {table} AS SELECT {', '.join(exprs)} FROM {view}{where}")
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Arrow and DuckDB read errors
            raise self.fail(exc) from None
        finally:
            try:
                duck.execute(f"DROP VIEW IF EXISTS {view}") if self._native_csv() else duck.unregister(view)
            except Exception:  # noqa: BLE001
                pass


class MongoDataset(Dataset):
    """A MongoDB collection (a pymongo or mongomock ``Database``), with an optional query
    document whose ``":name"`` string values are bound from ``params``. A missing field is NULL."""

    def __init__(self, database: Any, collection: str, *, filter: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, label: str | None = None):
        from recon_operators.engine.sources.mongo import bind_filter

        self.collection = database[collection]
        self.name = collection
        self.label = label or f"mongo {collection}"
        self.filter = bind_filter(dict(filter or {}), dict(params or {}))

    def describe(self) -> dict[str, Any]:
        return {"engine": "mongo", "collection": self.name, "filter": self.filter or None}

    def kinds(self) -> dict[str, str | None]:
        from decimal import Decimal
        from datetime import date

        from bson.decimal128 import Decimal128

        found: dict[str, str | None] = {}
        try:
            for document in self.collection.find(self.filter, limit=PROBE_DOCUMENTS):
                for name, value in document.items():
                    if name == "_id":
                        continue
                    if isinstance(value, (int, float, Decimal, Decimal128)) and not isinstance(value, bool):
                        found[name] = found.get(name) or NUMBER
                    elif isinstance(value, date):
                        found[name] = found.get(name) or TIMESTAMP
                    else:
                        found.setdefault(name, None)
        except Exception as exc:  # noqa: BLE001 - pymongo errors
            raise self.fail(exc) from None
        return found

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path) -> None:
        from recon_operators.engine.normalise import canonical_text, render
        from recon_operators.engine.sources.mongo import _plain

        def text(value: Any, plan: ColumnPlan) -> str | None:
            value = _plain(value)
            rule = plan.rule(side)
            if plan.numeric and rule.scale is None and rule.effective_type in (None, "decimal"):
                return render(value)  # compared by value in the join, as SQL sides send their own text
            return canonical_text(value, rule)

        schema = pa.schema([(p.name, pa.string()) for p in plans])
        duck.execute(f"CREATE TABLE {table} ({', '.join(quote_ident(p.name) + ' VARCHAR' for p in plans)})")
        try:
            cursor = self.collection.find(self.filter, {p.name: 1 for p in plans}, batch_size=MONGO_BATCH)
            batch: list[Any] = []
            for document in cursor:
                batch.append(document)
                if len(batch) >= MONGO_BATCH:
                    self._append(duck, table, schema, plans, batch, text)
                    batch = []
            self._append(duck, table, schema, plans, batch, text)
        except (NormaliseError, ValueError, TypeError) as exc:
            raise SourceError(f"{self.label}: a value does not fit its column rule ({type(exc).__name__})") from None
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.fail(exc) from None

    @staticmethod
    def _append(duck: Any, table: str, schema: pa.Schema, plans: list[ColumnPlan], documents: list[Any],
                text: Callable[[Any, ColumnPlan], str | None]) -> None:
        if not documents:
            return
        columns = [[text(_dig(d, p.name), p) for d in documents] for p in plans]
        duck.register("mongo_batch", pa.table(columns, schema=schema))
        try:
            duck.execute(f"INSERT INTO {table} SELECT * FROM mongo_batch")
        finally:
            duck.unregister("mongo_batch")


def _psql_copy(info: ConnectionInfo, copy: str, out: Any) -> None:
    """Run one COPY through psql; the password travels in the environment, never in argv."""
    without_password = replace(info, password=None).libpq_dsn()
    env = {**os.environ, "PGTZ": "UTC", "PGCONNECT_TIMEOUT": "10"}
    if info.password:
        env["PGPASSWORD"] = info.password
    process = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", without_password, "-c", copy],
                             stdout=out, stderr=subprocess.PIPE, env=env, check=False)
    if process.returncode:
        message = process.stderr.decode(errors="replace").strip().splitlines()
        raise SourceError(first_line(message[0] if message else f"psql exited with {process.returncode}")
                          .removeprefix("psql:").removeprefix("ERROR:").strip())


def _dig(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
