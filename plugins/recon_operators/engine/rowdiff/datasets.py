"""Dataset sides of a row diff: each streams its rows, as canonical text, into a DuckDB table.

Only bulk paths, no Python object per cell: Postgres sends ``COPY (SELECT ...) TO STDOUT`` CSV
(through ``psql`` when installed), MariaDB tab-separated rows with QUOTE()d text (through the
``mariadb`` client when installed, else one line per row from an unbuffered cursor), both into
a spill file DuckDB then loads in parallel; files are scanned by DuckDB itself (CSV/Parquet,
local or S3 through Arrow datasets). Mongo documents are decoded by the driver anyway, so they
are normalised in Python batch by batch (``normalise.canonical_text``, as ``recon check`` does).
Every side applies the normalisation of ``dialects``/``normalise``, so values reach the join
already canonical and the two sides of a cross-engine diff agree on what "equal" means.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

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


# How each spill file is written: Postgres COPY CSV (NULL = unquoted empty, "" = ''), and
# MariaDB tab-separated with text through QUOTE() ('it\'s'; NULL is the bare word NULL).
SPILL_FORMATS = {
    "csv": "delim=',', quote='\"', escape='\"'",
    "mysql": "delim='\t', quote='''', escape='\\', nullstr='NULL'",
}


def csv_reader_sql(path: Path, names: list[str], spill_format: str = "csv") -> str:
    """DuckDB scan of a spill file: every column text, a quoted value never NULL."""
    columns = ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names)
    return (f"read_csv({_literal(str(path))}, header=false, {SPILL_FORMATS[spill_format]}, "
            f"allow_quoted_nulls=false, auto_detect=false, columns={{{columns}}})")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def arrow_kind(data_type: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return NUMBER
    if pa.types.is_timestamp(data_type):
        return TIMESTAMP
    if pa.types.is_date(data_type):
        return DATE
    return None


class Dataset:
    """One side. ``kinds()`` names its columns (and their kinds); ``stage()`` makes a DuckDB
    table or view whose VARCHAR columns are the plan's columns, in plan order, canonical text.
    ``table_budget``: bytes of data a side may hold in a DuckDB table (beyond, a view over the
    spill file)."""

    label = "dataset"
    staged_bytes = 0  # bytes DuckDB reads from files in each pass (a view); 0 for a table

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def kinds(self) -> dict[str, str | None]:
        raise NotImplementedError

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {one_line(exc)}")


class SqlDataset(Dataset):
    """A Postgres or MySQL/MariaDB table, or a query, with an optional SQL filter whose ``:name``
    parameters are bound from ``params``. ``connection`` is a DB-API connection (psycopg2 or
    MySQLdb); two datasets may share one, they are then read one after the other. ``native``:
    the same connection's settings, for the ``psql``/``mariadb`` client fast path."""

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
        self.native = native  # lets psql / the mariadb client write the spill file (no Python per row)
        self.dialect: Dialect = DIALECTS[engine]
        self.engine = engine
        self.table, self.query, self.filter = table, (query or "").strip().rstrip(";") or None, filter
        self.params = dict(params or {})
        self.label = label or f"{engine} {table or 'query'}"
        self._kinds: dict[str, str | None] | None = None
        self._whole_seconds: set[str] = set()
        self._zoned: set[str] = set()
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
                cursor.execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'" if self.engine == "postgres"
                               else "SET time_zone = '+00:00'")
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
            if self.engine == "mysql":  # DATETIME/TIMESTAMP without fractions print as canonical text
                self._whole_seconds = {d[0] for d in cursor.description if d[1] in (7, 12) and (d[2] or 0) <= 19}
            else:
                self._zoned = {d[0] for d in cursor.description if d[1] == 1184}  # timestamptz
            return {d[0]: table.get(d[1]) for d in cursor.description}
        if self._kinds is None:
            self._kinds = self._run(probe)
        return {name: None if kind == CHAR else kind for name, kind in self._kinds.items()}

    def _expression(self, plan: ColumnPlan, side: str) -> str:
        """The column as is when the engine's own text output is already canonical (text,
        numbers compared by value), which spares the server a cast per value."""
        column = self.dialect.quote(plan.name)
        native, rule = (self._kinds or {}).get(plan.name), plan.rule(side)
        if rule == ColumnRule() and native in (None, NUMBER) and (plan.numeric or native is None):
            return column
        return self._printed(plan.name, rule, native) or side_expression(self.dialect, column, rule, plan.numeric,
                                                                          False)

    def _printed(self, name: str, rule: ColumnRule, native: str | None) -> str | None:
        """A cheaper expression whose printed text (UTC session, ISO DateStyle) is exactly the
        canonical text of ``dialects`` for plain dates and timestamps (to_char costs Postgres
        half the stream's time)."""
        column = self.dialect.quote(name)
        if (rule, native) == (ColumnRule(type=DATE), DATE):
            return column
        if (rule, native) != (ColumnRule(type=TIMESTAMP), TIMESTAMP):
            return None
        if self.engine == "mysql":
            return column if name in self._whole_seconds else None
        return f"date_trunc('second', {column} AT TIME ZONE 'UTC')" if name in self._zoned \
            else f"date_trunc('second', {column})"

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

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        exprs, tail, params = self.select(plans, side)
        spill = spill_dir / f"{table}.csv"
        if self.engine == "postgres":
            self._run(lambda cursor: self._copy_postgres(cursor, exprs, tail, params, spill, self.native))
        else:
            import MySQLdb.cursors  # unbuffered: rows stream from the server, client memory stays flat

            self._run(lambda cursor: self._stream_mysql(cursor, exprs, plans, tail, params, spill, self.native),
                      MySQLdb.cursors.SSCursor)
        reader = csv_reader_sql(spill, [p.name for p in plans], "csv" if self.engine == "postgres" else "mysql")
        if spill.stat().st_size > table_budget:
            # Too big to hold: DuckDB parses the file in each pass rather than spill a table.
            duck.execute(f"CREATE VIEW {table} AS SELECT * FROM {reader}")
            self.staged_bytes = spill.stat().st_size
            return
        # Loaded at once: the parse overlaps the other side's still-running stream.
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM {reader}")
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
        """Numbers, dates and timestamps never hold a tab, quote or newline."""
        return (self._kinds or {}).get(plan.name) in (NUMBER, DATE, TIMESTAMP)

    def _stream_mysql(self, cursor: Any, exprs: list[str], plans: list[ColumnPlan], tail: str,
                      params: dict[str, Any], spill: Path, native: ConnectionInfo | None) -> None:
        """Tab-separated rows, text through QUOTE() (cheaper for the server than building CSV):
        through the ``mariadb`` client when installed (C writes the file), else one line per row
        built by the server (CONCAT_WS) through the unbuffered cursor: a Python string per row,
        none per value."""
        fields = [e if self._plain_text(p) else f"QUOTE({e})" for e, p in zip(exprs, plans)]
        client = shutil.which("mariadb") or shutil.which("mysql")
        with open(spill, "wb" if native and client else "w", buffering=1 << 20) as out:
            if native is not None and client:
                select = f"SELECT {', '.join(fields)}".replace("%", "%%") + tail
                bound = select % {k: self.connection.literal(v).decode() for k, v in params.items()}
                _mariadb_stream(client, native, bound, out)
                return
            lines = ", ".join(f"IFNULL({f}, 'NULL')" for f in fields)
            # The driver %-formats the whole statement (the tail's own '%' are doubled already).
            cursor.execute(f"SELECT CONCAT_WS(CHAR(9), {lines})".replace("%", "%%") + tail, params)
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
        self.format = format or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")
        self.path, self.filter, self.csv = path, filter, dict(csv or {})
        self.label = label or f"file {path}"
        self.dataset: Any = None
        self._native: str | None = None
        try:
            if filesystem is None and not path.startswith("s3://") and self.format == "csv" \
                    and self.csv.get("encoding", "utf8").lower() in ("utf8", "utf-8"):
                self._native, self._names = self._native_csv()
                return
            from recon_operators.engine.sources.files import FileSource

            self.dataset = FileSource._dataset(SideSpec(path=path, format=self.format, csv=self.csv), filesystem,
                                               empty_is_null=True)
            self._names = list(self.dataset.schema.names)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Arrow, DuckDB and OS errors alike
            raise self.fail(exc) from None

    def describe(self) -> dict[str, Any]:
        out = {"engine": "file", "format": self.format, "path": self.path}
        if self.filter:
            out["filter"] = self.filter
        return out

    def kinds(self) -> dict[str, str | None]:
        if self.dataset is None:
            return dict.fromkeys(self._names)  # CSV: every column is text
        return {f.name: arrow_kind(f.type) for f in self.dataset.schema}

    def _native_csv(self) -> tuple[str, list[str]]:
        """DuckDB's own parallel CSV reader for local UTF-8 files (twice as fast as an Arrow
        scan, and no pyarrow to import): every column text, unquoted empty = NULL, ``""`` = ''."""
        import duckdb

        if "*" in self.path:
            files = sorted(glob.glob(self.path))
        elif os.path.isdir(self.path):
            files = sorted(glob.glob(os.path.join(self.path, "*.csv")))
        else:
            files = [self.path] if os.path.isfile(self.path) else []
        if not files:
            raise SourceError(f"{self.label}: no such file")
        options = (f"header={'false' if self.csv.get('header') is False else 'true'}, all_varchar=true, "
                   f"delim={_literal(self.csv.get('delimiter', ','))}, quote='\"', escape='\"', "
                   "allow_quoted_nulls=false")
        listed = ", ".join(_literal(f) for f in files)
        with duckdb.connect() as probe:
            names = [d[0] for d in probe.execute(f"SELECT * FROM read_csv([{listed}], {options}) LIMIT 0").description]
        quoted = ", ".join(_literal(n) for n in names)
        self.staged_bytes = sum(os.path.getsize(f) for f in files)
        return f"read_csv([{listed}], {options}, names=[{quoted}])", names

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        dialect, textual = DIALECTS["duckdb"], self.format == "csv"
        view = f"{table}_input"
        try:
            exprs = [f"{side_expression(dialect, quote_ident(p.name), p.rule(side), p.numeric, textual)} "
                     f"AS {quote_ident(p.name)}" for p in plans]
            where = f" WHERE ({self.filter})" if self.filter else ""
            duck.execute("SET TimeZone = 'UTC'")
            if self._native:  # a view: DuckDB reads the local file in each pass, as fast as a table scan
                duck.execute(f"CREATE VIEW {table} AS SELECT {', '.join(exprs)} FROM {self._native}{where}")
                duck.execute(f"SELECT 1 FROM {table} LIMIT 0")  # a bad filter fails here, naming this side
                return
            duck.register(view, self.dataset)  # S3 and Parquet: read once, into a table
            duck.execute(f"CREATE TABLE {table} AS SELECT {', '.join(exprs)} FROM {view}{where}")
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Arrow and DuckDB read errors
            raise self.fail(exc) from None
        finally:
            try:
                duck.unregister(view)
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

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        import pyarrow as pa

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
    def _append(duck: Any, table: str, schema: Any, plans: list[ColumnPlan], documents: list[Any],
                text: Callable[[Any, ColumnPlan], str | None]) -> None:
        import pyarrow as pa

        if not documents:
            return
        columns = [[text(_dig(d, p.name), p) for d in documents] for p in plans]
        duck.register("mongo_batch", pa.table(columns, schema=schema))
        try:
            duck.execute(f"INSERT INTO {table} SELECT * FROM mongo_batch")
        finally:
            duck.unregister("mongo_batch")


def _client(argv: list[str], env: dict[str, str], out: Any) -> None:
    """Run a database client writing to ``out``; its first error line becomes a SourceError.
    Passwords travel in the environment, never in argv (visible to every user of the host)."""
    process = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, env={**os.environ, **env}, check=False)
    if process.returncode:
        message = process.stderr.decode(errors="replace").strip().splitlines()
        text = first_line(message[0] if message else f"{argv[0]} exited with {process.returncode}")
        raise SourceError(re.sub(r"^(psql:|ERROR:|ERROR \d+ \(\w+\)( at line \d+)?:)\s*", "", text).strip())


def _psql_copy(info: ConnectionInfo, copy: str, out: Any) -> None:
    """One COPY through psql, in UTC."""
    env = {"PGTZ": "UTC", "PGDATESTYLE": "ISO, YMD", "PGCONNECT_TIMEOUT": "10",
           **({"PGPASSWORD": info.password} if info.password else {})}
    _client(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", replace(info, password=None).libpq_dsn(), "-c", copy],
            env, out)


def _mariadb_stream(client: str, info: ConnectionInfo, select: str, out: Any) -> None:
    """One SELECT through the mariadb client: --quick streams row by row, --batch --raw prints
    tab-separated fields unescaped (QUOTE() already escaped the text), NULL as the word NULL."""
    env = {"MYSQL_PWD": info.password} if info.password else {}
    _client([client, "--no-defaults", "--quick", "--batch", "--raw", "--skip-column-names", "--connect-timeout=10",
             f"--host={info.host or '127.0.0.1'}", f"--port={info.port or 3306}", f"--user={info.login or 'root'}",
             "--default-character-set=utf8mb4", info.schema or "", "-e", f"SET time_zone = '+00:00'; {select}"],
            env, out)


def _dig(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
