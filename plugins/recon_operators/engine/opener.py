"""The one way to turn "where the data is" into an adapter.

Three spellings of a side, one path: a suite side (``SideSpec``), a dataset URL as ``recon diff``
takes it, or a mapping as ``RowDiffOperator`` takes it (``dataset_side`` turns the last two into a
``SideSpec``). ``open_side`` resolves the side's connection (a URL, or a connection id through
``resolve``: ``AIRFLOW_CONN_*`` by default; the Airflow layer passes a resolver built on its hooks),
picks the engine from the registry and connects. Labels and descriptions never hold a secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from recon_operators.connections import (
    ConnectionConfigError,
    ConnectionInfo,
    airflow_connection,
    parse_uri,
    split_query_options,
)
from recon_operators.engine.adapters.base import Adapter, SourceError
from recon_operators.engine.adapters.registry import adapter_class, engine_for
from recon_operators.engine.spec import SideSpec

Resolver = Callable[[str], ConnectionInfo]  # connection id -> its settings
DATASET_OPTIONS = ("table", "query", "filter", "collection", "conn", "format")
MAPPING_KEYS = ("conn_id", "table", "query", "filter", "collection", "path", "format")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
DEFAULT_AWS = "aws_default"


def env_resolver(conn_id: str) -> ConnectionInfo:
    """``AIRFLOW_CONN_<ID>`` from the environment (URI or JSON), as Airflow reads it."""
    return airflow_connection(conn_id)


def resolve_connection(reference: str, resolve: Resolver = env_resolver) -> tuple[ConnectionInfo, str]:
    """A URL or a connection id -> its settings and a label without the password."""
    try:
        if "://" in reference:
            info = parse_uri(reference)
            return info, info.masked()
        return resolve(reference), reference
    except ConnectionConfigError as exc:
        raise SourceError(str(exc)) from None


def _aws(side: SideSpec, resolve: Resolver) -> tuple[ConnectionInfo | None, str | None]:
    """The AWS connection of an ``s3://`` side: its own, else aws_default when it exists, else
    the environment's credentials (AWS_* variables)."""
    environment = {
        k: v
        for k, v in (
            ("endpoint_url", os.environ.get("AWS_ENDPOINT_URL")),
            ("region_name", os.environ.get("AWS_DEFAULT_REGION")),
        )
        if v
    }
    if side.connection:
        info, label = resolve_connection(side.connection, resolve)
        if "://" in side.connection:  # keys in the URL: endpoint and region from the environment
            return replace(info, extra={**environment, **info.extra}), "aws://***"
        return info, label
    try:
        return resolve(DEFAULT_AWS), DEFAULT_AWS
    except (ConnectionConfigError, SourceError):
        return ConnectionInfo("aws", extra=environment), None


ENGINE_CHOICES = ("default", "spark")  # how a suite or a diff runs: each side's own engine, or Spark


def check_engine(engine: str | None) -> str:
    """``engine: spark`` (a suite, ``--engine``, an operator); None or ``default``: each side's own."""
    if engine in (None, "", "default"):
        return "default"
    if engine not in ENGINE_CHOICES:
        raise SourceError(f"engine must be one of {', '.join(ENGINE_CHOICES)}, not {engine!r}")
    return engine


def open_side(
    side: SideSpec,
    name: str = "side",
    *,
    resolve: Resolver = env_resolver,
    params: Mapping[str, Any] | None = None,
    engine: str | None = None,
) -> Adapter:
    """Connect and return the side's adapter (the caller closes it). ``engine="spark"``: the side
    is read by Spark (files, or a Postgres/MySQL table through JDBC) instead of its own engine."""
    if check_engine(engine) == "spark":
        if side.collection:
            raise SourceError(f"{name}: the spark engine reads files and postgres/mysql tables, not a collection")
        info, label = (None, side.connection) if side.path else resolve_connection(side.connection or "", resolve)
        return adapter_class("spark").from_connection(side, info, label or name, dict(params or {}))
    if side.path:
        info, label = _aws(side, resolve) if side.path.startswith("s3://") else (None, side.connection)
        return adapter_class(engine_for("aws", "files")).from_connection(side, info, label, dict(params or {}))
    info, label, engine = _database(side, name, resolve)
    return adapter_class(engine).from_connection(side, info, label, dict(params or {}))


def _database(side: SideSpec, name: str, resolve: Resolver) -> tuple[ConnectionInfo, str, str]:
    """A database side's connection, label and engine, or one line saying what does not fit."""
    info, label = resolve_connection(side.connection or "", resolve)
    engine = engine_for(info.conn_type, label, table=bool(side.table))
    locator = adapter_class(engine).locator
    if locator == "path":
        raise SourceError(f"{label} is an AWS connection: use s3://bucket/key?conn=<id> for files on S3")
    if locator == "collection" and not side.collection:
        raise SourceError(f"{name}: a {info.conn_type} dataset needs a collection (?collection=name)")
    if locator != "collection" and side.collection:
        raise SourceError(f"{name} names a collection but connection {label} is {info.conn_type}")
    return info, label, engine


# -- dataset URLs and mappings (recon diff, RowDiffOperator) -------------------------------------
def _split_options(url: str) -> tuple[str, dict[str, str]]:
    """The URL without the dataset options (table, query...), and those options."""
    parts = urlsplit(url)
    kept, options = [], {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        (options.__setitem__(key, value) if key in DATASET_OPTIONS else kept.append((key, value)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment)), options


def _mongo_filter(value: Any, label: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{label}: filter is not a JSON document: {exc.msg}") from None


def dataset_side(dataset: str | Mapping[str, Any]) -> tuple[SideSpec, str]:
    """A dataset URL or mapping as a ``SideSpec``, with a secret-free label. Does not connect.

    URLs: ``postgresql://user@host/db?table=schema.t`` (or ``&query=SELECT...``),
    ``mysql://...?table=t``, ``mongodb://host/db?collection=c``, ``s3://bucket/key.csv``
    (``?conn=<aws conn id>``), a local ``.csv``/``.parquet`` path, ``conn://<conn id>?table=...``;
    each takes ``filter=``. Mappings: ``conn_id``, ``table``/``query``/``collection``/``path``,
    ``filter``, ``format``.
    """
    if isinstance(dataset, Mapping):
        unknown = sorted(set(dataset) - set(MAPPING_KEYS))
        if unknown:
            raise SourceError(f"dataset keys {', '.join(unknown)} are unknown (use {', '.join(MAPPING_KEYS)})")
        conn, path = dataset.get("conn_id"), dataset.get("path")
        if not path and not conn:
            raise SourceError("a dataset needs a conn_id (or a path)")
        label = f"{conn or ''} {dataset.get('table') or dataset.get('collection') or path or 'query'}".strip()
        return _side(conn, dataset, path, label), label
    url = dataset
    if not url:
        raise SourceError("empty dataset URL")
    base, options = _split_options(url)
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme == "s3" or not scheme:
        path = base if scheme else url.split("?", 1)[0]
        parts = urlsplit(path)
        if scheme and "@" in parts.netloc:  # s3://KEY:SECRET@bucket/key: the keys never travel further
            userinfo, _, bucket = parts.netloc.rpartition("@")
            key, _, secret = userinfo.partition(":")
            path = f"s3://{bucket}{parts.path}"
            options["conn"] = f"aws://{key}:{secret}@"
        if not scheme and not path.lower().endswith(FILE_SUFFIXES) and "format" not in options:
            raise SourceError(f"{url.split('?', 1)[0]!r} is neither a dataset URL nor a .csv/.parquet path")
        fmt = options.get("format") or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")
        return _side(options.get("conn"), {**options, "format": fmt}, path, f"file {path}"), f"file {path}"
    if scheme == "conn":
        connection = urlsplit(url).netloc
        label = f"conn {connection}"
    else:  # split by the strict parser: a password may hold "?" or "#" unencoded, which urlsplit cuts at
        try:
            connection, options = split_query_options(url, DATASET_OPTIONS)
            label = parse_uri(connection).masked()
        except ConnectionConfigError as exc:
            raise SourceError(str(exc)) from None
    return _side(connection, options, None, label), label


def _side(connection: str | None, options: Mapping[str, Any], path: str | None, label: str) -> SideSpec:
    collection = options.get("collection")
    return SideSpec(
        connection=connection,
        table=options.get("table") or None,
        query=options.get("query") or None,
        collection=collection or None,
        path=path or None,
        format=options.get("format"),
        filter=_mongo_filter(options.get("filter"), label) if collection else options.get("filter"),
    )


def check_dataset(side: SideSpec, label: str, resolve: Resolver = env_resolver) -> None:
    """What ``recon diff`` can tell before connecting: one table or query, a collection for Mongo."""
    if side.path:
        return
    _, _, engine = _database(side, label, resolve)
    if adapter_class(engine).locator == "table" and bool(side.table) == bool(side.query):
        raise SourceError(f"{label}: give ?table=name or ?query=SELECT..., exactly one")


def open_dataset(
    dataset: str | Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
    *,
    resolve: Resolver = env_resolver,
    engine: str | None = None,
) -> Adapter:
    """A dataset URL or mapping, connected (the caller closes it)."""
    side, label = dataset_side(dataset)
    check_dataset(side, label, resolve)
    return open_side(side, label, resolve=resolve, params=params, engine=engine)
