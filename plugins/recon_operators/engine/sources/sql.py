"""SQL sides (Postgres, MySQL/MariaDB, and DuckDB over files): one aggregate query per request.

All measures of a request are computed in a single scan, inside the database; only one row per
group comes back. Filters from the suite are SQL predicates whose ``:name`` parameters are bound
from the scope, never pasted in as text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from recon_operators.engine.dialects import Dialect
from recon_operators.engine.fingerprint import fingerprint
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.errors import one_line
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.engine.sources.base import AggregateRequest, AggregateRows, Measure, SourceError
from recon_operators.engine.spec import SQL_PARAMETER, SideSpec

_TOKEN = "\x00p:{}\x00"
_TOKEN_RE = re.compile("\x00p:([a-z_][a-z0-9_]*)\x00")


class SqlSource:
    """A table or query on a DB-API connection, aggregated in the database."""

    def __init__(self, connection: Any, side: SideSpec, dialect: Dialect, *, conn_id: str | None = None,
                 relation: str | None = None, textual: bool = False):
        self.connection = connection
        self.side = side
        self.dialect = dialect
        self.conn_id = conn_id
        self.kind = dialect.name
        self._relation = relation  # a ready-made FROM item (DuckDB file views)
        self._textual = textual  # every column is text (CSV read as strings)
        self._session_ready = False

    def describe(self) -> dict[str, Any]:
        where = self.side.table or self.side.path or ("query" if self.side.query else None)
        out = {"engine": self.kind, "connection": self.conn_id, "relation": where}
        if self.side.filter:
            out["filter"] = self.side.filter
        return out

    @property
    def label(self) -> str:
        return f"{self.kind} {self.conn_id or ''} {self.side.table or self.side.path or 'query'}".replace("  ", " ")

    # -- SQL building -------------------------------------------------------------------------
    def _from(self) -> str:
        if self._relation:
            return self._relation
        if self.side.table:
            return self.dialect.qualified(self.side.table)
        return f"({self.side.query}) AS recon_query"

    def _column(self, logical: str) -> str:
        return self.dialect.quote(self.side.physical(logical))

    def _measure_sql(self, measure: Measure, request: AggregateRequest) -> str:
        d = self.dialect
        if measure.func == "count":
            return "COUNT(*)"
        if measure.func == "expression":
            expression = str(measure.expression)
            if ";" in expression:
                raise SourceError(f"{self.label}: a rule expression must be one SQL expression (no ';')")
            return f"({expression})"
        if measure.func == "hash":
            texts = [d.canonical(self._column(c), request.rule(c), self._textual) for c in measure.columns]
            # Rows and hash sum travel together: "<rows>:<sum>" (see Measure).
            return f"COUNT(*), SUM({d.row_hash(texts)})"
        column = measure.column or ""
        rule = request.rule(column)
        expr = self._column(column)
        if measure.func == "sum":
            return f"SUM({d.decimal(d.blank_to_null(expr) if self._textual else expr, rule.scale)})"
        if measure.func == "count_distinct":
            return f"COUNT(DISTINCT {d.binary(d.canonical(expr, rule, self._textual))})"
        typed = d.typed(expr, rule, self._textual)
        if rule.effective_type in ("decimal", "integer"):
            return f"{measure.func.upper()}({typed})"
        if rule.effective_type is None and not self._textual:
            return f"{measure.func.upper()}({typed})"
        return f"{measure.func.upper()}({d.binary(d.canonical(expr, rule, self._textual))})"

    def build(self, request: AggregateRequest) -> tuple[str, dict[str, Any]]:
        """The aggregate query and its bound parameters."""
        d = self.dialect
        selects: list[str] = []
        groups: list[str] = []
        for index, column in enumerate(request.group_by):
            expr = d.binary(d.canonical(self._column(column), request.rule(column), self._textual))
            groups.append(expr)
            selects.append(f"{expr} AS g{index}")
        for index, measure in enumerate(request.measures):
            selects.append(f"{self._measure_sql(measure, request)} AS m{index}")
        sql = f"SELECT {', '.join(selects)} FROM {self._from()}"
        params: dict[str, Any] = {}
        if self.side.filter:
            sql += f" WHERE ({self.side.filter})"
        if groups:
            sql += " GROUP BY " + ", ".join(groups)
        needed = sorted(set(SQL_PARAMETER.findall(sql)))
        values = {**request.params, **self.side.params}
        for name in needed:
            if name not in values or values[name] in (None, ""):
                raise SourceError(f"{self.label}: filter needs :{name} but the scope has no {name}")
            params[name] = values[name]
        sql = SQL_PARAMETER.sub(lambda m: _TOKEN.format(m.group(1)), sql)
        return self._placeholders(sql), params

    def _placeholders(self, sql: str) -> str:
        sql = sql.replace("%", "%%")
        return _TOKEN_RE.sub(lambda m: f"%({m.group(1)})s", sql)

    # -- execution ----------------------------------------------------------------------------
    def _prepare_session(self, cursor: Any) -> None:
        """Pin the session to UTC so timestamp normalisation does not depend on server config."""
        if self.kind == "postgres":
            cursor.execute("SET TIME ZONE 'UTC'")
        elif self.kind == "mysql":
            cursor.execute("SET time_zone = '+00:00'")

    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        try:
            sql, params = self.build(request)
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        try:
            cursor = self.connection.cursor()
            try:
                if not self._session_ready:
                    self._prepare_session(cursor)
                    self._session_ready = True
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except SourceError:
            raise
        except Exception as exc:  # every DB-API driver has its own error classes
            self._rollback()
            raise SourceError(f"{self.label}: {one_line(exc)}") from None
        self._rollback()  # read-only: end the transaction so no snapshot is held open
        return self._shape(rows, request)

    def _rollback(self) -> None:
        try:
            self.connection.rollback()
        except Exception:  # noqa: BLE001 - best effort on a broken connection
            pass

    @staticmethod
    def _value(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).decode("utf-8")
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    def _shape(self, rows: list[tuple], request: AggregateRequest) -> AggregateRows:
        width = len(request.group_by)
        out: AggregateRows = {}
        for row in rows:
            key = tuple(None if v is None else str(self._value(v)) for v in row[:width])
            cells = iter(row[width:])
            values = {}
            for measure in request.measures:
                raw = self._value(next(cells))
                if measure.func == "hash":
                    raw = (raw, self._value(next(cells)))
                values[measure.name] = _finish(measure, raw, request.rule(measure.column or ""))
            out[key] = values
        if not width and not out:
            out[()] = {m.name: _finish(m, (0, None) if m.func == "hash" else None, request.rule(m.column or ""))
                       for m in request.measures}
        return out

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001
            pass


def _finish(measure: Measure, value: Any, rule: ColumnRule) -> Any:
    """Driver values to the engine's types: ints, exact Decimals, canonical text."""
    if measure.func in ("count", "count_distinct"):
        return int(value or 0)
    if measure.func == "sum":
        return Decimal(0) if value is None else Decimal(value)
    if measure.func == "hash":
        rows, total = value
        return fingerprint(rows or 0, Decimal(total or 0))
    if measure.func in ("min", "max") and rule.effective_type in ("decimal", "integer") and value is not None:
        return Decimal(value)
    if measure.func == "expression" and value is not None and not isinstance(value, str):
        return Decimal(value) if not isinstance(value, Decimal) else value
    return value
