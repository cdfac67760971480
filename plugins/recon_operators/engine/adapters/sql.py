"""What the SQL engines share: one aggregate query per check request, and the row diff's bulk stream.

Postgres and MySQL/MariaDB subclass ``SqlAdapter`` (connection, catalog, streaming client); the
file adapter reuses ``aggregate_select`` over DuckDB. Every read runs in a read-only transaction
that is ended right after (no snapshot held open), filters are one predicate (``sqlguard``) whose
``:name`` parameters are bound by the driver, never pasted in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon_operators.engine.adapters.base import (
    Adapter,
    AggregateRequest,
    AggregateRows,
    Measure,
    Progress,
    SourceError,
)
from recon_operators.engine.adapters.pipe import Feed, feeding
from recon_operators.engine.canonical import ColumnPlan, Form, Side, finish_sql
from recon_operators.engine.dialects import Dialect
from recon_operators.engine.fingerprint import fingerprint
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.engine.logical_types import DECIMAL, FLOAT, INTEGER, text
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.spec import SQL_PARAMETER, SideSpec
from recon_operators.engine.sqlguard import StackedStatementError, single_statement
from recon_operators.errors import one_line

_TOKEN = "\x00p:{}\x00"
_TOKEN_RE = re.compile("\x00p:([a-z_][a-z0-9_]*)\x00")
NUMERIC_FORMS = (INTEGER, DECIMAL, FLOAT)


def literal(text: str) -> str:
    """A SQL string literal (DuckDB, Postgres)."""
    return "'" + text.replace("'", "''") + "'"


def aggregate_select(
    d: Dialect, request: AggregateRequest, canon: Callable[[str], str], number: Callable[[str], str]
) -> tuple[list[str], list[str]]:
    """The SELECT list (group keys g0.., measures m0..) and GROUP BY items of a request.
    ``canon(column)``: its canonical text; ``number(column)``: its exact numeric value."""
    selects, groups = [], []
    for index, column in enumerate(request.group_by):
        expr = d.binary(canon(column))
        groups.append(expr)
        selects.append(f"{expr} AS g{index}")
    for index, measure in enumerate(request.measures):
        selects.append(f"{measure_sql(d, measure, request, canon, number)} AS m{index}")
    return selects, groups


def measure_sql(
    d: Dialect, measure: Measure, request: AggregateRequest, canon: Callable[[str], str], number: Callable[[str], str]
) -> str:
    if measure.func == "count":
        return "COUNT(*)"
    if measure.func == "expression":
        return f"({single_statement(str(measure.expression), f'rule {measure.name}')})"
    if measure.func == "hash":
        return f"COUNT(*), SUM({d.row_hash([canon(c) for c in measure.columns])})"  # "<rows>:<sum>"
    column = measure.column or ""
    _, form = request.column(column)
    if measure.func == "sum":
        return f"SUM({number(column)})"
    if measure.func == "count_distinct":
        return f"COUNT(DISTINCT {d.binary(canon(column))})"
    if form.kind in NUMERIC_FORMS:
        return f"{measure.func.upper()}({number(column)})"
    return f"{measure.func.upper()}({d.binary(canon(column))})"


def shape_rows(rows: list[tuple], request: AggregateRequest) -> AggregateRows:
    """Driver rows to ``{group key: {measure: value}}`` in the engine's types."""
    width = len(request.group_by)
    out: AggregateRows = {}
    for row in rows:
        key = tuple(None if v is None else str(_plain(v)) for v in row[:width])
        cells = iter(row[width:])
        values = {}
        for measure in request.measures:
            raw = _plain(next(cells))
            if measure.func == "hash":
                raw = (raw, _plain(next(cells)))
            values[measure.name] = _finish(measure, raw, request)
        out[key] = values
    if not width and not out:
        out[()] = {m.name: _finish(m, (0, None) if m.func == "hash" else None, request) for m in request.measures}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.hex()  # binary group keys never fail a check: they are compared as hex
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _finish(measure: Measure, value: Any, request: AggregateRequest) -> Any:
    if measure.func in ("count", "count_distinct"):
        return int(value or 0)
    if measure.func == "sum":
        return Decimal(0) if value is None else Decimal(value)
    if measure.func == "hash":
        rows, total = value
        return fingerprint(rows or 0, Decimal(total or 0))
    if measure.func in ("min", "max") and value is not None:
        _, form = request.column(measure.column or "")
        if form.kind in NUMERIC_FORMS:
            return Decimal(value)
    if measure.func == "expression" and value is not None and not isinstance(value, str):
        return Decimal(value) if not isinstance(value, Decimal) else value
    return value


def _finished(request: AggregateRequest, columns: Any) -> bool:
    return any(request.column(c)[1].kind in ("float", "json") for c in columns)


def needs_finishing(request: AggregateRequest, measure: Measure | None = None) -> bool:
    """Whether the group keys, or ``measure`` (any measure when None), read a float or JSON
    column as text: DuckDB finishes those forms."""
    if _finished(request, request.group_by):
        return True
    for item in request.measures if measure is None else (measure,):
        text_columns = set(item.as_text)
        if item.func in ("min", "max") and item.column and request.column(item.column)[1].kind == "json":
            text_columns.add(item.column)
        if _finished(request, text_columns):
            return True
    return False


def split_finishing(
    adapter: Adapter, request: AggregateRequest, in_engine: Callable[[AggregateRequest], AggregateRows]
) -> AggregateRows:
    """Measures the engine renders run in it; the ones DuckDB must finish run over the staged
    columns; the two results are merged per group."""
    if not needs_finishing(request):
        return in_engine(request)
    if needs_finishing(AggregateRequest((), request.group_by, request.columns, request.params)):
        return staged_aggregate(adapter, request)
    staged = tuple(m for m in request.measures if needs_finishing(request, m))
    plain = tuple(m for m in request.measures if m not in staged)
    out = staged_aggregate(adapter, AggregateRequest(staged, request.group_by, request.columns, request.params))
    if plain:
        for key, values in in_engine(
            AggregateRequest(plain, request.group_by, request.columns, request.params)
        ).items():
            out.setdefault(key, {}).update(values)
    return out


def staged_aggregate(adapter: Adapter, request: AggregateRequest) -> AggregateRows:
    """A request whose forms only DuckDB can finish: the columns are staged into a scratch
    DuckDB (the row diff's own path, so checks and diffs agree) and aggregated there."""
    from recon_operators.engine.dialects import DIALECTS
    from recon_operators.engine.workspace import diff_workspace

    if any(m.func == "expression" for m in request.measures):
        raise SourceError(
            f"{adapter.label}: a rule expression cannot share a request with a float or JSON column "
            "read as text; give the rule its own group_by"
        )
    names = list(
        dict.fromkeys([*request.group_by, *(c for m in request.measures for c in (m.column, *m.columns) if c)])
    )
    plans = [
        ColumnPlan(f"c{i}", request.column(n)[0], request.column(n)[0], request.column(n)[1])
        for i, n in enumerate(names)
    ]
    alias = {n: f'"c{i}"' for i, n in enumerate(names)}
    duck_dialect = DIALECTS["duckdb"]

    def canon(name: str) -> str:
        return finish_sql(alias[name], request.column(name)[1])

    def number(name: str) -> str:
        _, form = request.column(name)
        return duck_dialect.numeric(alias[name], text(), form, textual=True)

    with diff_workspace(None, "1GB") as (duck, root):
        adapter.stage(duck, "staged", plans, "source", root, scope=request.params)
        selects, groups = aggregate_select(duck_dialect, request, canon, number)
        sql = f"SELECT {', '.join(selects)} FROM staged" + (f" GROUP BY {', '.join(groups)}" if groups else "")
        return shape_rows(duck.execute(sql).fetchall(), request)


# A server's error for a value a cast cannot read (Postgres, MariaDB, DuckDB wordings).
_CAST_FAILURE = re.compile(
    r"invalid input syntax|out of range|Incorrect \w+ value|Truncated incorrect|"
    r"Could not convert|Conversion Error",
    re.IGNORECASE,
)


class SqlAdapter(Adapter):
    """A table or query on a DB-API connection; subclasses supply the engine's specifics."""

    dialect: Dialect
    spill_format = "csv"

    def __init__(
        self,
        connection: Any,
        side: SideSpec,
        *,
        native: Any = None,
        label: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        if bool(side.table) == bool(side.query):
            raise SourceError(f"{self.engine}: give a table or a query, not {'both' if side.table else 'neither'}")
        self.connection = connection
        self.native = native  # ConnectionInfo for the psql / mariadb client fast paths
        self.side = side
        self.params = {**dict(params or {}), **side.params}
        self.label = label or f"{self.engine} {side.table or 'query'}"
        self._columns: dict[str, Any] | None = None
        try:
            self.query = single_statement(side.query, "query", allow_trailing=True) if side.query else None
            self.filter = single_statement(side.filter, "filter") if side.filter else None
            self.relation = self.dialect.qualified(side.table) if side.table else f"({self.query}) AS recon_query"
        except (IdentifierError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    @staticmethod
    def open_connection(info: Any, label: str) -> Any:
        raise NotImplementedError

    @classmethod
    def from_connection(
        cls, side: SideSpec, info: Any, label: str, params: Mapping[str, Any] | None = None
    ) -> SqlAdapter:
        """Connect (``info``: a ConnectionInfo) and read ``side`` there; the adapter owns the connection."""
        return cls(
            cls.open_connection(info, label),
            side,
            native=info,
            params=params,
            label=f"{cls.engine} {label} {side.table or 'query'}",
        )

    def describe(self) -> dict[str, Any]:
        out = {"engine": self.engine, "label": self.label, "relation": self.side.table or "query"}
        if self.filter:
            out["filter"] = self.filter
        return out

    # -- sessions -------------------------------------------------------------------------------
    def begin(self, cursor: Any) -> None:
        """Start a read-only transaction in a UTC session."""
        raise NotImplementedError

    def run(self, work: Callable[[Any], Any], cursor_class: Any = None) -> Any:
        """``work(cursor)`` in a read-only UTC transaction; driver errors as one line; then rollback."""
        try:
            cursor = self.connection.cursor(cursor_class) if cursor_class else self.connection.cursor()
            try:
                self.begin(cursor)
                return work(cursor)
            finally:
                cursor.close()
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - each driver has its own error classes
            raise SourceError(f"{self.label}: {self.error_line(exc)}") from None
        finally:
            try:
                self.connection.rollback()  # read-only: hold no snapshot open
            except Exception:  # noqa: BLE001 - best effort: nothing is left to undo when this fails
                pass

    def error_line(self, exc: BaseException) -> str:
        return one_line(exc)

    def columns(self) -> dict[str, Any]:
        if self._columns is None:
            self._columns = self.run(self.read_columns)
        return dict(self._columns)

    def read_columns(self, cursor: Any) -> dict[str, Any]:
        raise NotImplementedError

    # -- SQL text -------------------------------------------------------------------------------
    def tail(self, scope: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """`` FROM relation WHERE (filter)`` with driver placeholders, and the bound values
        (the side's own ``params`` win over the scope's)."""
        values = {**dict(scope or {}), **self.params}
        # The line break ends a trailing '--' comment of the filter before the closing parenthesis.
        tail = f" FROM {self.relation}" + (f" WHERE ({self.filter}\n)" if self.filter else "")
        needed = sorted(set(SQL_PARAMETER.findall(tail)))
        absent = [n for n in needed if values.get(n) in (None, "")]
        if absent:
            raise SourceError(f"{self.label}: filter needs :{absent[0]} but the scope has no {absent[0]}")
        tail = SQL_PARAMETER.sub(lambda m: _TOKEN.format(m.group(1)), tail)
        return self.placeholders(tail), {n: values[n] for n in needed}

    def placeholders(self, sql: str) -> str:
        sql = sql.replace("%", "%%")
        return _TOKEN_RE.sub(lambda m: f"%({m.group(1)})s", sql)

    def render(self, side: Side, form: Form) -> str:
        return self.dialect.canonical(self.dialect.quote(side.physical), side.type, form, side.rule)

    def number(self, side: Side, form: Form) -> str:
        return self.dialect.numeric(self.dialect.quote(side.physical), side.type, form)

    # -- checks ---------------------------------------------------------------------------------
    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        return split_finishing(self, request, self._aggregate_in_engine)

    def _aggregate_in_engine(self, request: AggregateRequest) -> AggregateRows:
        try:
            selects, groups = aggregate_select(
                self.dialect,
                request,
                lambda c: self.render(*request.column(c)),
                lambda c: self.number(*request.column(c)),
            )
            tail, params = self.tail(request.params)
        except (IdentifierError, NormaliseError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        sql = f"SELECT {', '.join(selects)}{tail}" + (f" GROUP BY {', '.join(groups)}" if groups else "")

        def query(cursor: Any) -> list[tuple]:
            cursor.execute(sql, params)
            return cursor.fetchall()

        try:
            rows = self.run(query)
        except SourceError as exc:
            ruled = [name for name, (column, _) in request.columns.items() if column.rule.type]
            raise SourceError(self.read_error(str(exc), ruled)) from None
        return shape_rows(rows, request)

    # -- row diff -------------------------------------------------------------------------------
    def stage(
        self,
        duck: Any,
        table: str,
        plans: list[ColumnPlan],
        side: str,
        spill_dir: Path,
        table_budget: int = 1 << 62,
        progress: Progress | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            exprs = [self.render(p.side(side), p.form) for p in plans]
            tail, params = self.tail(scope)
        except (IdentifierError, NormaliseError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        ruled = [p.name for p in plans if p.side(side).rule.type]
        pipe = spill_dir / f"{table}.pipe"
        reader = spill_reader(pipe, [p.name for p in plans], self.spill_format)
        # DuckDB parses the rows as the client writes them (a pipe, not a file written first and
        # parsed after): the parse overlaps the server's scan. The table spills to the workspace's
        # temp directory past the memory limit, so a side bigger than memory still loads.
        fed: Feed | None = None
        try:
            with feeding(pipe, lambda: self.stream(exprs, plans, side, tail, params, pipe)) as fed:
                duck.execute(f"CREATE TABLE {table} AS SELECT * FROM {reader}")
        except Exception:
            if (
                fed is not None and fed.writer_failed_first
            ):  # the client's error truncated DuckDB's input: it is the cause
                raise SourceError(self.read_error(str(fed.error), ruled)) from None
            raise
        if fed.error is not None:
            raise SourceError(self.read_error(str(fed.error), ruled)) from None
        if progress:
            progress(side, "streamed", 0)

    def read_error(self, message: str, ruled: list[str]) -> str:
        """A failed read as one line naming this side and, when a value could not be cast, the
        columns a declared rule casts (the server names the type, never the column)."""
        line = message if message.startswith(self.label) else f"{self.label}: {message}"
        if ruled and _CAST_FAILURE.search(message):
            line += f" (a declared rule casts column {', '.join(ruled)})"
        return line

    def stream(
        self, exprs: list[str], plans: list[ColumnPlan], side: str, tail: str, params: dict[str, Any], spill: Path
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - best effort: nothing is left to undo when this fails
            pass


# How each spill file is written: Postgres COPY CSV (NULL = unquoted empty, "" = ''), and
# MariaDB tab-separated with text through QUOTE() ('it\'s'; NULL is the bare word NULL).
SPILL_FORMATS = {
    "csv": "delim=',', quote='\"', escape='\"'",
    "mysql": "delim='\t', quote='''', escape='\\', nullstr='NULL'",
}


def spill_reader(path: Path, names: list[str], spill_format: str = "csv") -> str:
    """DuckDB scan of a spill file: every column text, a quoted value never NULL."""
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({literal(str(path))}, header=false, {SPILL_FORMATS[spill_format]}, "
        f"allow_quoted_nulls=false, auto_detect=false, columns={{{columns}}})"
    )
