"""Dataset URLs for ``recon diff``: where a side is, in one string.

``postgresql://user@host:port/db?table=schema.name`` (or ``&query=SELECT ...``),
``mysql://user@host:port/db?table=name``, ``mongodb://host:port/db?collection=name``,
``s3://bucket/key.csv`` (``?conn=<aws conn id>`` for the endpoint and keys; default
``aws_default`` when ``AIRFLOW_CONN_AWS_DEFAULT`` is set), a local ``.csv``/``.parquet`` path,
or ``conn://<airflow_conn_id>?table=...`` for a connection defined as ``AIRFLOW_CONN_<ID>``.
Every form also takes ``filter=`` (a SQL/DuckDB predicate, or a JSON query document for Mongo).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from recon_operators.connections import ConnectionConfigError, ConnectionInfo, airflow_connection, parse_uri
from recon_operators.engine.rowdiff.datasets import Dataset, FileDataset, MongoDataset, SqlDataset
from recon_operators.engine.sources.base import SourceError

DATASET_OPTIONS = ("table", "query", "filter", "collection", "conn", "format")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class DatasetRef:
    """A parsed dataset URL: what to open, and a label that never holds a password."""

    kind: str  # postgres | mysql | mongo | file
    label: str
    info: ConnectionInfo | None = None
    options: dict[str, str] = field(default_factory=dict)
    path: str | None = None


def _split_options(url: str) -> tuple[str, dict[str, str]]:
    """The URL without the dataset options (table, query...), and those options."""
    parts = urlsplit(url)
    kept, options = [], {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        (options.__setitem__(key, value) if key in DATASET_OPTIONS else kept.append((key, value)))
    query = urlencode(kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), options


def parse_dataset_url(url: str) -> DatasetRef:
    """Parse without connecting. Raises ``SourceError`` with a one-line reason."""
    if not url:
        raise SourceError("empty dataset URL")
    base, options = _split_options(url)
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme == "s3" or not scheme:
        path = base if scheme else url.split("?", 1)[0]
        fmt = options.get("format") or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")
        if not scheme and not path.lower().endswith(FILE_SUFFIXES) and "format" not in options:
            raise SourceError(f"{url!r} is neither a dataset URL nor a .csv/.parquet path")
        return DatasetRef("file", f"file {path}", options={**options, "format": fmt}, path=path)
    try:
        if scheme == "conn":
            conn_id = urlsplit(url).netloc
            info, label = airflow_connection(conn_id), f"conn {conn_id}"
        else:  # parsed whole, once: a password may hold "?" or "#" unencoded
            parsed = parse_uri(url)
            options = {k: v for k, v in parsed.extra.items() if k in DATASET_OPTIONS}
            info = replace(parsed, extra={k: v for k, v in parsed.extra.items() if k not in DATASET_OPTIONS})
            label = info.masked()
    except ConnectionConfigError as exc:
        raise SourceError(str(exc)) from None
    kind = info.conn_type
    if kind == "aws":
        raise SourceError(f"{label} is an AWS connection: use s3://bucket/key?conn=<id> for files on S3")
    if kind == "mongo":
        if not options.get("collection"):
            raise SourceError(f"{label}: a MongoDB dataset needs ?collection=name")
    elif kind in ("postgres", "mysql"):
        if bool(options.get("table")) == bool(options.get("query")):
            raise SourceError(f"{label}: give ?table=name or ?query=SELECT..., exactly one")
    else:
        raise SourceError(f"{label}: a {kind} connection cannot hold a table")
    return DatasetRef(kind, f"{label} {options.get('table') or options.get('collection') or 'query'}",
                      info=info, options=options)


def _s3_filesystem(conn_id: str | None) -> Any:
    from recon_operators.engine.sources.files import s3_filesystem

    if conn_id is None and os.environ.get("AIRFLOW_CONN_AWS_DEFAULT"):
        conn_id = "aws_default"
    if conn_id is None:
        return s3_filesystem(endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
                             region=os.environ.get("AWS_DEFAULT_REGION"))
    try:
        info = airflow_connection(conn_id)
    except ConnectionConfigError as exc:
        raise SourceError(str(exc)) from None
    return s3_filesystem(endpoint_url=info.extra.get("endpoint_url"), region=info.extra.get("region_name"),
                         access_key=info.login, secret_key=info.password)


def open_dataset(ref: DatasetRef, params: dict[str, Any] | None = None) -> Dataset:
    """Connect and return the dataset (the caller closes it)."""
    from recon_operators.engine.opener import connect_mongo, connect_mysql, connect_postgres

    options = ref.options
    if ref.kind == "file":
        path = ref.path or ""
        filesystem = _s3_filesystem(options.get("conn")) if path.startswith("s3://") else None
        return FileDataset(path, options["format"], filesystem=filesystem, filter=options.get("filter"),
                           label=ref.label)
    info = ref.info
    assert info is not None
    if ref.kind == "mongo":
        try:
            document = json.loads(options["filter"]) if options.get("filter") else {}
        except json.JSONDecodeError as exc:
            raise SourceError(f"{ref.label}: filter is not a JSON document: {exc.msg}") from None
        return MongoDataset(connect_mongo(info, ref.label), options["collection"], filter=document,
                            params=params, label=ref.label)
    connect = connect_postgres if ref.kind == "postgres" else connect_mysql
    return SqlDataset(connect(info, ref.label), ref.kind, table=options.get("table"), query=options.get("query"),
                      filter=options.get("filter"), params=params, label=ref.label,
                      native=info)
