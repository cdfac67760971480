"""File sides: CSV and Parquet, local or on S3, aggregated by DuckDB over Arrow datasets.

DuckDB scans the Arrow dataset batch by batch (columnar, no Python object per row) with the
same SQL the database sides use, in the DuckDB dialect. CSV columns are read as text so
numbers keep their exact digits (``10.10`` stays ``10.10`` until a declared rule says otherwise).
"""

from __future__ import annotations

import glob
import re
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.sources.base import SourceError
from recon_operators.engine.sources.sql import SqlSource
from recon_operators.errors import one_line
from recon_operators.engine.spec import SideSpec

_TOKEN_RE = re.compile("\x00p:([a-z_][a-z0-9_]*)\x00")
VIEW = "recon_file"


def s3_filesystem(*, endpoint_url: str | None = None, region: str | None = None,
                  access_key: str | None = None, secret_key: str | None = None,
                  session_token: str | None = None) -> pafs.S3FileSystem:
    """An Arrow S3 filesystem; ``endpoint_url`` points it at moto or another S3 emulator."""
    options: dict[str, Any] = {"region": region or "us-east-1"}
    if access_key:
        options.update(access_key=access_key, secret_key=secret_key, session_token=session_token)
    if endpoint_url:
        scheme, _, host = endpoint_url.partition("://")
        options.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return pafs.S3FileSystem(**options)


def _resolve(path: str, filesystem: pafs.FileSystem | None) -> tuple[Any, pafs.FileSystem | None]:
    """The dataset's files (path, folder or glob) and the filesystem to read them with."""
    if path.startswith("s3://"):
        if filesystem is None:
            raise SourceError(f"file {path}: an S3 path needs a connection (e.g. aws_default)")
        key = path[len("s3://"):]
        if "*" in key:
            prefix, _, pattern = key.partition("*")
            base = prefix.rsplit("/", 1)[0]
            infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
            regex = re.compile(re.escape(prefix) + ".*" + re.escape(pattern).replace(r"\*", ".*") + "$")
            files = sorted(i.path for i in infos if i.type == pafs.FileType.File and regex.match(i.path))
            return files, filesystem
        return key.rstrip("/"), filesystem
    if "*" in path:
        return sorted(glob.glob(path)), None
    return path, None


class _DuckDBSession:
    """DB-API face over one DuckDB connection: registered Arrow views are visible only to the
    connection that registered them, so ``cursor()`` hands back this same connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._connection = connection

    def cursor(self) -> "_DuckDBSession":
        return self

    def execute(self, sql: str, params: Any = None) -> None:
        self._connection.execute(sql, params or {})

    def fetchall(self) -> list[tuple]:
        return self._connection.fetchall()

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        return None

    def shutdown(self) -> None:
        self._connection.close()


class FileSource(SqlSource):
    """CSV or Parquet files read through DuckDB; filters are DuckDB SQL predicates."""

    def __init__(self, side: SideSpec, *, filesystem: pafs.FileSystem | None = None, conn_id: str | None = None):
        self.side = side
        self.kind = "file"
        self.conn_id = conn_id
        try:
            dataset = self._dataset(side, filesystem)
        except SourceError:
            raise
        except (pa.ArrowInvalid, FileNotFoundError, OSError, pa.ArrowException) as exc:
            raise SourceError(f"file {side.path}: {one_line(exc)}") from None
        connection = duckdb.connect()
        connection.register(VIEW, dataset)
        super().__init__(_DuckDBSession(connection), side, DIALECTS["duckdb"], conn_id=conn_id, relation=VIEW,
                         textual=side.format == "csv")
        self.kind = "file"

    @property
    def label(self) -> str:
        return f"file {self.side.path}"

    def describe(self) -> dict[str, Any]:
        out = {"engine": "file", "format": self.side.format, "path": self.side.path}
        if self.conn_id:
            out["connection"] = self.conn_id
        if self.side.filter:
            out["filter"] = self.side.filter
        return out

    @staticmethod
    def _dataset(side: SideSpec, filesystem: pafs.FileSystem | None, *, empty_is_null: bool = False) -> ds.Dataset:
        """``empty_is_null``: an unquoted empty CSV field is NULL (a quoted ``""`` stays ''), as
        Postgres writes NULL in CSV; aggregate checks keep '' and apply ``blank_to_null``."""
        source, fs = _resolve(side.path or "", filesystem)
        if isinstance(source, list) and not source:
            raise SourceError(f"file {side.path}: no files match")
        if side.format == "parquet":
            return ds.dataset(source, format="parquet", filesystem=fs)
        options = side.csv or {}
        read = pacsv.ReadOptions(encoding=options.get("encoding", "utf8"),
                                 autogenerate_column_names=options.get("header") is False)
        parse = pacsv.ParseOptions(delimiter=options.get("delimiter", ","), newlines_in_values=True)
        probe = ds.dataset(source, format=ds.CsvFileFormat(read_options=read, parse_options=parse), filesystem=fs)
        names = probe.schema.names
        as_text = pa.schema([(name, pa.string()) for name in names])
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=empty_is_null,
                                       quoted_strings_can_be_null=False)
        fmt = ds.CsvFileFormat(read_options=read, parse_options=parse, convert_options=convert)
        return ds.dataset(source, format=fmt, filesystem=fs, schema=as_text)

    def _placeholders(self, sql: str) -> str:
        return _TOKEN_RE.sub(lambda m: f"${m.group(1)}", sql)

    def _prepare_session(self, cursor: Any) -> None:
        cursor.execute("SET TimeZone = 'UTC'")

    def close(self) -> None:
        self.connection.shutdown()
