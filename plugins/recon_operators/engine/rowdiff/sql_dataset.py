"""Postgres and MySQL/MariaDB sides: the rows stream, normalised by the server, to a spill file.

Only bulk paths, no Python object per value: Postgres sends ``COPY (SELECT ...) TO STDOUT`` CSV
(through ``psql`` when installed), MariaDB tab-separated rows with QUOTE()d text (through the
``mariadb`` client when installed, else one line per row from an unbuffered cursor). DuckDB
then loads the file (or, when it is too big for memory, reads it in each pass).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.dialects import DIALECTS, Dialect
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.engine.rowdiff.base import Dataset, literal
from recon_operators.engine.rowdiff.plan import DATE, NUMBER, TIMESTAMP, ColumnPlan, side_expression
from recon_operators.engine.sources.base import SourceError
from recon_operators.engine.spec import SQL_PARAMETER
from recon_operators.errors import first_line

FETCH_ROWS = 50_000
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
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    return (f"read_csv({literal(str(path))}, header=false, {SPILL_FORMATS[spill_format]}, "
            f"allow_quoted_nulls=false, auto_detect=false, columns={{{columns}}})")


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
        # One field per row either way: the client prints 14x fewer fields (a third of its CPU,
        # which the server streaming the other side needs on a small host).
        lines = ", ".join(f"IFNULL({f}, 'NULL')" for f in fields)
        select = f"SELECT CONCAT_WS(CHAR(9), {lines})".replace("%", "%%") + tail
        with open(spill, "wb" if native and client else "w", buffering=1 << 20) as out:
            if native is not None and client:
                bound = select % {k: self.connection.literal(v).decode() for k, v in params.items()}
                _mariadb_stream(client, native, bound, out)
                return
            # The driver %-formats the whole statement (the tail's own '%' are doubled already).
            cursor.execute(select, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                out.write("\n".join([row[0] for row in rows]))
                out.write("\n")

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001
            pass


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
