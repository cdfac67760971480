"""The one list of engines: registry name -> adapter class, and connection types -> engine.

Adapter modules are imported when first used, so a Postgres-only run never imports pymongo.
Adding an engine: its module under ``engine/adapters/`` and one line in ``ENGINES`` (and in
``CONNECTION_TYPES`` when a connection type selects it); see docs/engines.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from recon_operators.engine.adapters.base import SourceError

ENGINES: dict[str, str] = {
    "postgres": "recon_operators.engine.adapters.postgres:PostgresAdapter",
    "mysql": "recon_operators.engine.adapters.mysql:MySQLAdapter",
    "mongo": "recon_operators.engine.adapters.mongo:MongoAdapter",
    "file": "recon_operators.engine.adapters.files:FileAdapter",
    "dynamodb": "recon_operators.engine.adapters.dynamodb:DynamoDBAdapter",
    "spark": "recon_operators.engine.adapters.spark:SparkAdapter",
}

# A connection's type (``connections.ConnectionInfo.conn_type``) -> the engine that reads it.
CONNECTION_TYPES: dict[str, str] = {"postgres": "postgres", "mysql": "mysql", "mongo": "mongo", "aws": "file"}
# ... and when the side names a table on it: an AWS connection holds files on S3 or DynamoDB tables.
TABLE_CONNECTION_TYPES: dict[str, str] = {"aws": "dynamodb"}


def adapter_class(engine: str) -> Any:
    if engine not in ENGINES:
        raise SourceError(f"no adapter for engine {engine!r} (known: {', '.join(sorted(ENGINES))})")
    module, _, name = ENGINES[engine].partition(":")
    return getattr(import_module(module), name)


def engine_for(conn_type: str, label: str, *, table: bool = False) -> str:
    engine = (TABLE_CONNECTION_TYPES.get(conn_type) if table else None) or CONNECTION_TYPES.get(conn_type)
    if engine is None:
        raise SourceError(f"{label}: a {conn_type} connection cannot hold a dataset")
    return engine
