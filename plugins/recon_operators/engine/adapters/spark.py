"""Spark: the same checks and row diff on Spark DataFrames, for sides beyond one machine.

A Spark side is a file side (Parquet/CSV, local or ``s3a://``) or a Postgres/MariaDB table or
query read through JDBC (``engine.spark.reader``). Each column pair's canonical form is rendered
in Spark SQL (``engine.spark.dialect``), so a Spark side compares equal to the same data on any
other engine. ``aggregate`` runs the checks' one SELECT in Spark; ``frame`` gives the row diff's
canonical columns as a DataFrame (``engine.spark.diff`` joins two of them in Spark), and
``stage`` brings them into DuckDB when the other side is not on Spark.

Types: a JDBC side's come from the database's catalog (the Postgres/MySQL adapter's
``columns()``, so both engines pick the same forms); a Parquet side's from its Spark schema; a
CSV side's are inferred from a sample of its text, as the file adapter does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.adapters.base import (
    Adapter,
    AggregateRequest,
    AggregateRows,
    Progress,
    SourceError,
    value_free,
)
from recon_operators.engine.adapters.sql import aggregate_select, shape_rows, split_finishing
from recon_operators.engine.canonical import ColumnPlan, Form, Side
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.engine.logical_types import DECIMAL, INTEGER, LogicalType, infer_from_text
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.spark import reader
from recon_operators.engine.spark.dialect import SPARK
from recon_operators.engine.spark.session import SparkSetupError, spark_session
from recon_operators.engine.spec import SQL_PARAMETER, SideSpec
from recon_operators.engine.sqlguard import StackedStatementError, single_statement
from recon_operators.errors import one_line

SAMPLE_ROWS = 1000
_VIEWS = itertools.count()


def spark_error(exc: BaseException) -> str:
    """A Spark/JVM error as one line without the Java stack or a data value it quotes (PII).
    A Py4J error's own line only says which call failed ("An error occurred while calling
    o107.count"): the JVM exception's root cause is what the user can act on."""
    if isinstance(exc, ConnectionError) or type(exc).__name__ == "Py4JNetworkError":
        return "the Spark JVM is gone (out of memory? raise RECON_SPARK_DRIVER_MEMORY; see its log on stderr)"
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            root = java
            while root.getCause() is not None:
                root = root.getCause()
            text = str(root.toString())
        except Exception:  # noqa: BLE001 - the gateway may be gone
            pass
    return value_free(one_line(text.split("\n\tat ", 1)[0].split("\nJVM stacktrace", 1)[0]))


class SparkAdapter(Adapter):
    """One side read by Spark. ``info``: the JDBC side's connection (None for files)."""

    engine = "spark"
    locator = "table"

    def __init__(
        self,
        side: SideSpec,
        *,
        info: ConnectionInfo | None = None,
        label: str | None = None,
        params: Mapping[str, Any] | None = None,
        catalog: Adapter | None = None,
    ):
        self.side = side
        self.info = info
        self.catalog = catalog  # the database's own adapter: its catalog types, its key bounds
        self.params = {**dict(params or {}), **side.params}
        self.path = side.path
        self.format = side.format or ("parquet" if (side.path or "").lower().endswith((".parquet", ".pq")) else "csv")
        self.textual = False  # canonical text is rendered in Spark, CSV columns included
        self.csv_text = bool(side.path) and self.format == "csv"
        where = reader.spark_path(side.path) if side.path else (side.table or "query")
        self.label = label or f"spark {where}"
        self._columns: dict[str, LogicalType] | None = None
        self._frames: dict[str | None, Any] = {}
        self._views: list[str] = []  # temp views of this side, dropped on close
        try:
            self.filter = single_statement(side.filter, "filter") if side.filter else None
        except StackedStatementError as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    @classmethod
    def from_connection(
        cls, side: SideSpec, info: Any, label: str | None, params: Mapping[str, Any] | None = None
    ) -> SparkAdapter:
        """Files (``info`` None, or the AWS connection of an S3 path: the cluster's s3a settings
        hold the credentials), or a Postgres/MySQL connection read through JDBC."""
        if side.path:
            return cls(side, label=f"spark file {reader.spark_path(side.path)}", params=params)
        if info is None or info.conn_type not in reader.DRIVERS:
            kind = getattr(info, "conn_type", "no")
            raise SourceError(
                f"{label}: the spark engine reads files and postgres/mysql tables, not a {kind} connection"
            )
        from recon_operators.engine.adapters.registry import adapter_class

        catalog = adapter_class(info.conn_type).from_connection(side, info, label, params)
        return cls(side, info=info, label=f"spark {catalog.label}", params=params, catalog=catalog)

    # -- the DataFrame --------------------------------------------------------------------------
    @property
    def spark(self) -> Any:
        try:
            return spark_session()
        except SparkSetupError as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    def _jdbc_relation(self, scope: Mapping[str, Any] | None) -> str:
        catalog = self.catalog
        relation = catalog.relation  # type: ignore[attr-defined]
        if not self.filter:
            return f"(SELECT * FROM {relation}) recon_side"
        values = {**dict(scope or {}), **self.params}
        literal = catalog.dialect.literal  # type: ignore[attr-defined]
        predicate = reader.inline_filter(self.filter, values, literal, self.label)
        return f"(SELECT * FROM {relation} WHERE ({predicate}\n)) recon_side"

    def _partitioning(self, key: str | None, scope: Mapping[str, Any] | None) -> reader.Partitioning | None:
        """Split a JDBC read on ``key`` (the diff's first key column): min/max for a number,
        hash predicates for text; one partition when there is no key."""
        if not key:
            return None
        count = reader.jdbc_partitions(self.spark.sparkContext.defaultParallelism)
        if count <= 1:
            return None
        kind = self.columns().get(key)
        dialect = self.catalog.dialect  # type: ignore[attr-defined]
        quoted = dialect.quote(key)
        if kind is not None and kind.kind in (INTEGER, DECIMAL) and (kind.scale or 0) == 0:
            relation = self._jdbc_relation(scope)

            def bounds(cursor: Any) -> tuple:
                cursor.execute(f"SELECT min({quoted}), max({quoted}) FROM {relation}")
                return cursor.fetchone()

            low, high = self.catalog.run(bounds)  # type: ignore[attr-defined]
            if low is None or low == high:
                return None
            return reader.Partitioning(count, column=key, lower=int(low), upper=int(high) + 1)
        return reader.Partitioning(count, predicates=reader.hash_predicates(self.info.conn_type, quoted, count))

    def dataframe(self, scope: Mapping[str, Any] | None = None, key: str | None = None) -> Any:
        """The side's rows (filtered) as a DataFrame, cached per partition key."""
        if key in self._frames:
            return self._frames[key]
        try:
            if self.path:
                frame = reader.read_files(self.spark, self.path, self.format, self.side.csv or {})
                if self.filter:
                    values = {**dict(scope or {}), **self.params}
                    needed = sorted(set(SQL_PARAMETER.findall(self.filter)))
                    absent = [n for n in needed if values.get(n) in (None, "")]
                    if absent:
                        raise SourceError(f"{self.label}: filter needs :{absent[0]} but the scope has no {absent[0]}")
                    view = f"recon_input_{next(_VIEWS)}"
                    frame.createOrReplaceTempView(view)
                    self._views.append(view)
                    frame = self.spark.sql(
                        f"SELECT * FROM {view} WHERE ({self.filter}\n)", args={n: values[n] for n in needed}
                    )
            else:
                frame = reader.read_jdbc(
                    self.spark, self.info, self._jdbc_relation(scope), self._partitioning(key, scope)
                )
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark analysis and JVM errors
            raise SourceError(f"{self.label}: {spark_error(exc)}") from None
        self._frames[key] = frame
        return frame

    def columns(self) -> dict[str, LogicalType]:
        if self._columns is None:
            if self.catalog is not None:
                self._columns = self.catalog.columns()
            else:
                frame = self.dataframe()
                try:
                    if self.csv_text:
                        sample = frame.limit(SAMPLE_ROWS).collect()
                        self._columns = {
                            name: infer_from_text(row[i] for row in sample) for i, name in enumerate(frame.columns)
                        }
                    else:
                        self._columns = {f.name: reader.spark_type(f.dataType) for f in frame.schema.fields}
                except Exception as exc:  # noqa: BLE001 - Py4J and Spark raise their own classes: one line names the side
                    raise SourceError(f"{self.label}: {spark_error(exc)}") from None
        return dict(self._columns)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": "spark", "label": self.label}
        if self.path:
            out.update(format=self.format, path=reader.spark_path(self.path))
        else:
            out.update(relation=self.side.table or "query", source_engine=self.info.conn_type if self.info else None)
        if self.filter:
            out["filter"] = self.filter
        return out

    # -- canonical SQL --------------------------------------------------------------------------
    def render(self, side: Side, form: Form) -> str:
        return SPARK.canonical(SPARK.quote(side.physical), side.type, form, side.rule, self.csv_text)

    def number(self, side: Side, form: Form) -> str:
        return SPARK.numeric(SPARK.quote(side.physical), side.type, form, self.csv_text)

    def _view(self, scope: Mapping[str, Any] | None, key: str | None = None) -> str:
        view = f"recon_side_{next(_VIEWS)}"
        self.dataframe(scope, key).createOrReplaceTempView(view)
        return view

    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        return split_finishing(self, request, self._aggregate_in_engine)

    def _aggregate_in_engine(self, request: AggregateRequest) -> AggregateRows:
        try:
            selects, groups = aggregate_select(
                SPARK, request, lambda c: self.render(*request.column(c)), lambda c: self.number(*request.column(c))
            )
        except (IdentifierError, NormaliseError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        view = self._view(request.params)
        sql = f"SELECT {', '.join(selects)} FROM {view}" + (f" GROUP BY {', '.join(groups)}" if groups else "")
        try:
            rows = [tuple(row) for row in self.spark.sql(sql).collect()]
        except Exception as exc:  # noqa: BLE001 - Py4J and Spark raise their own classes: one line names the side
            raise SourceError(f"{self.label}: {spark_error(exc)}") from None
        finally:
            self.spark.catalog.dropTempView(view)
        return shape_rows(rows, request)

    def frame(self, plans: list[ColumnPlan], side: str, scope: Mapping[str, Any] | None = None) -> Any:
        """The plans' columns as canonical text (floats and JSON transported), in plan order."""
        keys = [p.side(side).physical for p in plans if p.is_key]
        try:
            exprs = [f"{self.render(p.side(side), p.form)} AS {SPARK.quote(p.name)}" for p in plans]
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        frame = self.dataframe(scope, keys[0] if keys and self.catalog is not None else None)
        try:
            return frame.selectExpr(*exprs)
        except Exception as exc:  # noqa: BLE001 - Py4J and Spark raise their own classes: one line names the side
            raise SourceError(f"{self.label}: {spark_error(exc)}") from None

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
        """The canonical columns, computed by Spark, into a DuckDB table (through Arrow)."""
        frame = self.frame(plans, side, scope)
        try:
            arrow = frame.toArrow()
        except Exception as exc:  # noqa: BLE001 - Py4J and Spark raise their own classes: one line names the side
            raise SourceError(f"{self.label}: {spark_error(exc)}") from None
        view = f"{table}_arrow"
        duck.register(view, arrow)
        try:
            columns = ", ".join(f'CAST("{p.name}" AS VARCHAR) AS "{p.name}"' for p in plans)
            duck.execute(f"CREATE TABLE {table} AS SELECT {columns} FROM {view}")
        finally:
            duck.unregister(view)

    def close(self) -> None:
        if self._views:
            from recon_operators.engine.spark.session import spark_session

            for view in self._views:
                spark_session().catalog.dropTempView(view)
        self._views.clear()
        self._frames.clear()
        if self.catalog is not None:
            self.catalog.close()
