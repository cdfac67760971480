"""Open row diff datasets inside Airflow: connection ids through the providers' hooks.

A dataset is a mapping: ``{"conn_id": "stage_mysql", "table": "subscribers", "filter": "..."}``,
``{"conn_id": "mongo_subs", "collection": "subscribers"}``, ``{"path": "s3://b/k.csv",
"conn_id": "aws_default"}``, ``{"path": "/data/x.parquet"}``, or a dataset URL string as
``recon diff`` takes it (``postgresql://...?table=...``).
"""

from __future__ import annotations

from typing import Any, Mapping

from recon_operators.connections import ConnectionInfo
from recon_operators.engine.rowdiff.datasets import Dataset, FileDataset, MongoDataset, SqlDataset
from recon_operators.engine.rowdiff.urls import open_dataset, parse_dataset_url
from recon_operators.engine.sources.base import SourceError
from recon_operators.errors import one_line

_ENGINES = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
_KNOWN = ("conn_id", "table", "query", "filter", "collection", "path", "format")


def open_row_diff_dataset(spec: str | Mapping[str, Any], params: Mapping[str, Any]) -> Dataset:
    """A connected dataset; the caller closes it. Hooks are created here, at run time only."""
    from recon_operators.hooks.sources import _connection, _mongo_database, _s3_filesystem

    if isinstance(spec, str):
        return open_dataset(parse_dataset_url(spec), dict(params))
    unknown = sorted(set(spec) - set(_KNOWN))
    if unknown:
        raise SourceError(f"dataset keys {', '.join(unknown)} are unknown (use {', '.join(_KNOWN)})")
    conn_id = spec.get("conn_id")
    if spec.get("path"):
        path = str(spec["path"])
        filesystem = _s3_filesystem(conn_id or "aws_default") if path.startswith("s3://") else None
        return FileDataset(path, spec.get("format"), filesystem=filesystem, filter=spec.get("filter"))
    if not conn_id:
        raise SourceError("a dataset needs a conn_id (or a path)")
    conn = _connection(conn_id)
    conn_type = (conn.conn_type or "").lower()
    try:
        if spec.get("collection"):
            return MongoDataset(_mongo_database(conn_id, conn), spec["collection"], filter=spec.get("filter"),
                                params=params, label=f"mongo {conn_id} {spec['collection']}")
        engine = _ENGINES.get(conn_type)
        if engine is None:
            raise SourceError(f"connection {conn_id!r} is {conn_type}, which cannot hold a table")
        from recon_operators.hooks.databases import mysql_connection, postgres_connection

        connection = postgres_connection(conn_id) if engine == "postgres" else mysql_connection(conn_id)
        native = ConnectionInfo.postgres_from(conn) if engine == "postgres" else None
        return SqlDataset(connection, engine, table=spec.get("table"), query=spec.get("query"),
                          filter=spec.get("filter"), params=params, native=native,
                          label=f"{engine} {conn_id} {spec.get('table') or 'query'}")
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver connect errors differ per provider
        raise SourceError(f"{conn_type} {conn_id}: cannot connect: {one_line(exc)}") from None
