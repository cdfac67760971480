"""Files: CSV and Parquet, local or on S3, read by DuckDB (local CSV) or through Arrow datasets.

Parquet columns carry their types; CSV columns are text whose type is inferred from a sample of
rows (``types.infer_from_text``: text unless every sampled value says otherwise, and a code with a
leading zero stays text), so a CSV compares by value with a typed side and values that do not
parse stay as they are (a difference, never a failed run). Filters are DuckDB predicates; once
the side's files are registered, DuckDB may read nothing else (``workspace.lock_down``).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recon_operators.engine.adapters.base import Adapter, AggregateRequest, AggregateRows, Progress, SourceError
from recon_operators.engine.adapters.sql import aggregate_select, literal, shape_rows
from recon_operators.engine.canonical import ColumnPlan, Form, Side, finish_sql, register_duckdb
from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.identifiers import IdentifierError, quote_ident
from recon_operators.engine.logical_types import LogicalType, arrow_type, infer_from_text
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.spec import SQL_PARAMETER, SideSpec
from recon_operators.engine.sqlguard import StackedStatementError, single_statement
from recon_operators.engine.workspace import lock_down
from recon_operators.errors import one_line

VIEW = "recon_file"
SAMPLE_ROWS = 1000
_SECRET_IN_URL = re.compile(r"^(s3://)[^/@]*@")


def safe_path(path: str) -> str:
    """``s3://KEY:SECRET@bucket/k`` -> ``s3://***@bucket/k``: a path is shown, never a key."""
    return _SECRET_IN_URL.sub(r"\1***@", path)


def s3_filesystem(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
) -> Any:
    """An Arrow S3 filesystem; ``endpoint_url`` points it at moto or another S3 emulator."""
    import pyarrow.fs as pafs

    options: dict[str, Any] = {"region": region or "us-east-1"}
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key, session_token=session_token)
    if endpoint_url:
        scheme, _, host = endpoint_url.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return pafs.S3FileSystem(**options)


def _columns_given(read_csv: str, names: list[str]) -> str:
    """A sniffed ``read_csv`` with its columns given and detection off: each bind of a detecting
    read_csv samples the file again (about 0.05 s), and a diff binds a side's view several times
    (the filter check, the keyed view, the join). Every column is text already."""
    columns = ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names)
    return f"{read_csv[:-1]}, auto_detect=false, columns={{{columns}}})"


def _local_files(path: str) -> list[str]:
    if "*" in path:
        return sorted(glob.glob(path))
    if os.path.isdir(path):
        return sorted(glob.glob(os.path.join(path, "*.csv")) + glob.glob(os.path.join(path, "*.parquet")))
    return [path] if os.path.isfile(path) else []


def _s3_source(path: str, filesystem: Any) -> Any:
    import pyarrow.fs as pafs

    if filesystem is None:
        raise SourceError(f"file {safe_path(path)}: an S3 path needs a connection (e.g. aws_default)")
    key = path[len("s3://") :]
    if "*" in key:
        prefix, _, pattern = key.partition("*")
        base = prefix.rsplit("/", 1)[0]
        infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
        regex = re.compile(re.escape(prefix) + ".*" + re.escape(pattern).replace(r"\*", ".*") + "$")
        return sorted(i.path for i in infos if i.type == pafs.FileType.File and regex.match(i.path))
    return key.rstrip("/")


class FileAdapter(Adapter):
    """CSV or Parquet files (``side.path``: a file, folder or glob; ``side.views``: more files the
    filter may query by name). ``filesystem``: an Arrow filesystem for ``s3://`` paths."""

    engine = "file"
    _functions = False  # the canonical-form functions registered on the session (checks only)
    locator = "path"
    dialect = DIALECTS["duckdb"]

    def __init__(
        self,
        side: SideSpec,
        *,
        filesystem: Any = None,
        connection_label: str | None = None,
        params: dict[str, Any] | None = None,
    ):
        self.side = side
        self.path = side.path or ""
        self.format = side.format or ("parquet" if self.path.lower().endswith((".parquet", ".pq")) else "csv")
        self.filesystem = filesystem
        self.connection_label = connection_label
        self.params = {**dict(params or {}), **side.params}
        self.label = f"file {safe_path(self.path)}"
        self.textual = self.format == "csv"
        self._columns: dict[str, LogicalType] | None = None
        self._session: Any = None
        self._names: list[str] = []
        try:
            self.filter = single_statement(side.filter, "filter") if side.filter else None
            self.sources = {VIEW: self._source(self.path), **{n: self._source(p) for n, p in side.views.items()}}
        except (StackedStatementError, IdentifierError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None

    @classmethod
    def from_connection(
        cls, side: SideSpec, info: Any, label: str | None, params: dict[str, Any] | None = None
    ) -> FileAdapter:
        """``info``: the AWS connection (keys, endpoint, region) for ``s3://`` paths, or None."""
        filesystem = None
        if (side.path or "").startswith("s3://"):
            extra = info.extra if info is not None else {}
            filesystem = s3_filesystem(
                endpoint_url=extra.get("endpoint_url"),
                region=extra.get("region_name"),
                access_key=info.login if info else None,
                secret_key=info.password if info else None,
                session_token=extra.get("aws_session_token"),
            )
        return cls(side, filesystem=filesystem, connection_label=label, params=params)

    # -- reading ----------------------------------------------------------------------------------
    def _source(self, path: str) -> tuple[str, Any]:
        """("native", read_csv SQL) for local UTF-8 CSV, else ("arrow", dataset)."""
        csv = self.side.csv or {}
        try:
            if (
                not path.startswith("s3://")
                and self.format == "csv"
                and str(csv.get("encoding", "utf8")).lower() in ("utf8", "utf-8")
            ):
                files = _local_files(path)
                if not files:
                    raise SourceError(f"file {path}: no such file")
                if any(os.path.getsize(f) == 0 for f in files):
                    raise SourceError(f"file {path}: the file is empty (not even a header)")
                options = (
                    f"header={'false' if csv.get('header') is False else 'true'}, all_varchar=true, "
                    f"delim={literal(csv.get('delimiter', ','))}, quote='\"', escape='\"', "
                    "allow_quoted_nulls=false"
                )
                listed = ", ".join(literal(str(Path(f).resolve())) for f in files)
                self._files = getattr(self, "_files", []) + [str(Path(f).resolve()) for f in files]
                return "native", f"read_csv([{listed}], {options})"
            return "arrow", self._dataset(path)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Arrow and OS errors alike
            raise SourceError(f"file {safe_path(path)}: {one_line(exc)}") from None

    def _dataset(self, path: str) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.dataset as ds

        if path.startswith("s3://"):
            source, fs = _s3_source(path, self.filesystem), self.filesystem
        else:
            source, fs = (_local_files(path) if "*" in path else path), None
        if isinstance(source, list) and not source:
            raise SourceError(f"file {safe_path(path)}: no files match")
        if self.format == "parquet":
            return ds.dataset(source, format="parquet", filesystem=fs)
        options = self.side.csv or {}
        read = pacsv.ReadOptions(
            encoding=options.get("encoding", "utf8"), autogenerate_column_names=options.get("header") is False
        )
        parse = pacsv.ParseOptions(delimiter=options.get("delimiter", ","), newlines_in_values=True)
        probe = ds.dataset(source, format=ds.CsvFileFormat(read_options=read, parse_options=parse), filesystem=fs)
        names = probe.schema.names
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True, quoted_strings_can_be_null=False
        )
        fmt = ds.CsvFileFormat(read_options=read, parse_options=parse, convert_options=convert)
        return ds.dataset(source, format=fmt, filesystem=fs, schema=pa.schema([(n, pa.string()) for n in names]))

    def _register(self, duck: Any, name: str, source: tuple[str, Any]) -> None:
        kind, value = source
        if kind == "native":
            # Sniffed once, then the view's read_csv is given its columns: each later bind (the
            # sample, each check's query, the diff's view) would otherwise sample the file again.
            names = [d[0] for d in duck.execute(f"SELECT * FROM {value} LIMIT 0").description]
            self.sources[name] = (kind, _columns_given(value, names))
            duck.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM {self.sources[name][1]}")
        else:
            duck.register(name, value)

    def local_files(self) -> list[str]:
        return list(getattr(self, "_files", []))

    def session(self) -> Any:
        """This side's own DuckDB (checks): its files as views, then no other file access."""
        if self._session is None:
            import duckdb

            duck = duckdb.connect()
            try:
                duck.execute("SET TimeZone = 'UTC'")
                duck.execute("SET enable_progress_bar = false")
                for name, source in self.sources.items():
                    self._register(duck, name, source)
                lock_down(duck, [], self.local_files())
            except Exception as exc:  # noqa: BLE001 - Arrow and DuckDB errors alike: one line names the side
                duck.close()
                raise self.fail(exc) from None
            self._session = duck
        return self._session

    def columns(self) -> dict[str, LogicalType]:
        if self._columns is None:
            duck = self.session()
            try:
                described = duck.execute(f"SELECT * FROM {VIEW} LIMIT 0").description
                if self.textual:
                    sample = duck.execute(f"SELECT * FROM {VIEW} LIMIT {SAMPLE_ROWS}").fetchall()
                    self._columns = {d[0]: infer_from_text(row[i] for row in sample) for i, d in enumerate(described)}
                else:
                    kind, dataset = self.sources[VIEW]
                    schema = dataset.schema if kind == "arrow" else None
                    self._columns = (
                        {f.name: arrow_type(f.type) for f in schema}
                        if schema is not None
                        else {d[0]: infer_from_text([]) for d in described}
                    )
            except Exception as exc:  # noqa: BLE001 - drivers, Arrow and DuckDB each raise their own classes: one line names the side
                raise self.fail(exc) from None
        return dict(self._columns)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"engine": "file", "format": self.format, "path": safe_path(self.path)}
        if self.connection_label:
            out["connection"] = self.connection_label
        if self.filter:
            out["filter"] = self.filter
        if self.side.views:
            out["views"] = {n: safe_path(p) for n, p in self.side.views.items()}
        return out

    # -- SQL --------------------------------------------------------------------------------------
    def _where(self, inline: bool, scope: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        if not self.filter:
            return "", {}
        values = {**dict(scope or {}), **self.params}
        needed = sorted(set(SQL_PARAMETER.findall(self.filter)))
        absent = [n for n in needed if values.get(n) in (None, "")]
        if absent:
            raise SourceError(f"{self.label}: filter needs :{absent[0]} but the scope has no {absent[0]}")
        if inline:  # a view cannot hold prepared parameters: values become quoted literals
            text = SQL_PARAMETER.sub(lambda m: literal(str(values[m.group(1)])), self.filter)
            return f" WHERE ({text}\n)", {}
        return f" WHERE ({SQL_PARAMETER.sub(lambda m: '$' + m.group(1), self.filter)}\n)", {
            n: values[n] for n in needed
        }

    def render(self, side: Side, form: Form) -> str:
        return self.dialect.canonical(quote_ident(side.physical), side.type, form, side.rule, self.textual)

    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        d = self.dialect
        try:
            selects, groups = aggregate_select(
                d,
                request,
                lambda c: finish_sql(self.render(*request.column(c)), request.column(c)[1]),
                lambda c: d.numeric(
                    quote_ident(request.column(c)[0].physical),
                    request.column(c)[0].type,
                    request.column(c)[1],
                    self.textual,
                ),
            )
            where, params = self._where(inline=False, scope=dict(request.params))
        except (IdentifierError, NormaliseError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        sql = f"SELECT {', '.join(selects)} FROM {VIEW}{where}" + (f" GROUP BY {', '.join(groups)}" if groups else "")
        try:
            duck = self.session()
            if not self._functions:  # the canonical-form functions, for checks only (0.05 s to register)
                register_duckdb(duck)
                self._functions = True
            return shape_rows(duck.execute(sql, params).fetchall(), request)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - DuckDB and Arrow read errors
            raise self.fail(exc) from None

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
        kind, value = self.sources[VIEW]
        view = f"{table}_input"
        try:
            exprs = [
                f"{quote_ident(p.side(side).physical) if p.side(side).deferred else self.render(p.side(side), p.form)}"
                f" AS {quote_ident(p.name)}"
                for p in plans
            ]
            where, _ = self._where(inline=True, scope=dict(scope or {}))
            if kind == "native":
                # A view: the diff's one join parses the file once, as DuckDB's own join diff
                # does (a table would cost a parse plus a copy); beyond the memory budget each
                # of the narrow path's passes parses it again.
                size = sum(os.path.getsize(f) for f in self.local_files())
                self.session()  # the file's columns given (sniffed once)
                value = self.sources[VIEW][1]
                duck.execute(f"CREATE VIEW {table} AS SELECT {', '.join(exprs)} FROM {value}{where}")
                duck.execute(f"SELECT 1 FROM {table} LIMIT 0")  # a bad filter fails here, naming this side
                self.staged_bytes = size
                return
            duck.register(view, value)  # S3 and Parquet: read once, into a table
            duck.execute(f"CREATE TABLE {table} AS SELECT {', '.join(exprs)} FROM {view}{where}")
        except (IdentifierError, NormaliseError, StackedStatementError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Arrow and DuckDB read errors
            raise self.fail(exc) from None
        finally:
            if kind != "native":
                try:
                    duck.unregister(view)
                except Exception:  # noqa: BLE001 - best effort: nothing is left to undo when this fails
                    pass

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
