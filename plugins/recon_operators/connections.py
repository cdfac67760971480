"""Connection settings outside Airflow: URLs and ``AIRFLOW_CONN_*`` variables, without Airflow.

The CLI and the engine must run where Airflow is not installed (a laptop, a Spark driver), yet
read the same ``AIRFLOW_CONN_<ID>`` variables that Airflow reads, in URI or JSON form.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

_SCHEME_ALIASES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mongodb": "mongo",
    "mongo": "mongo",
    "aws": "aws",
    "s3": "aws",
    "slackwebhook": "slackwebhook",
}


class ConnectionConfigError(ValueError):
    """A connection is missing or cannot be parsed."""


@dataclass(frozen=True)
class ConnectionInfo:
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def postgres_from(cls, conn: Any) -> "ConnectionInfo":
        """From an Airflow ``Connection`` (duck-typed, so this module needs no Airflow import)."""
        return cls(conn_type="postgres", host=conn.host, port=conn.port, login=conn.login,
                   password=conn.password, schema=conn.schema, extra=conn.extra_dejson)

    def libpq_dsn(self) -> str:
        """A ``postgresql://`` DSN that psycopg2/libpq accepts (Airflow extras dropped)."""
        if self.conn_type != "postgres":
            raise ConnectionConfigError(f"expected a postgres connection, got {self.conn_type}")
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = self.host or "127.0.0.1"
        port = f":{self.port}" if self.port else ""
        options = {k: v for k, v in self.extra.items() if k in ("sslmode", "connect_timeout", "application_name")}
        query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in options.items())
        return f"postgresql://{auth}{host}{port}/{quote(self.schema or 'postgres', safe='')}" + (f"?{query}" if query else "")

    def masked(self) -> str:
        """For logs and errors: never shows the password."""
        user = f"{self.login}@" if self.login else ""
        return f"{self.conn_type}://{user}{self.host}:{self.port}/{self.schema or ''}"


def parse_uri(uri: str) -> ConnectionInfo:
    parts = urlsplit(uri)
    scheme = parts.scheme.replace("-", "").replace("_", "").lower()
    if scheme not in _SCHEME_ALIASES:
        raise ConnectionConfigError(f"unsupported connection scheme {parts.scheme!r}")
    extra: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "__extra__":
            extra.update(json.loads(value))
        else:
            extra[key] = value
    try:
        port = parts.port
    except ValueError as exc:
        raise ConnectionConfigError(f"bad port in connection URI: {exc}") from None
    return ConnectionInfo(
        conn_type=_SCHEME_ALIASES[scheme],
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra=extra,
    )


def parse_airflow_value(value: str) -> ConnectionInfo:
    """Parse an ``AIRFLOW_CONN_*`` value: JSON object or URI, as Airflow accepts both."""
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConnectionConfigError(f"connection JSON is malformed: {exc.msg}") from None
        conn_type = _SCHEME_ALIASES.get(str(data.get("conn_type", "")).replace("-", "").replace("_", "").lower())
        if not conn_type:
            raise ConnectionConfigError(f"unsupported conn_type {data.get('conn_type')!r}")
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return ConnectionInfo(
            conn_type=conn_type,
            host=data.get("host"),
            port=int(data["port"]) if data.get("port") else None,
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra=extra,
        )
    return parse_uri(value)


def airflow_connection(conn_id: str) -> ConnectionInfo:
    """Read ``AIRFLOW_CONN_<CONN_ID>`` from the environment."""
    var = "AIRFLOW_CONN_" + conn_id.upper()
    value = os.environ.get(var)
    if not value:
        raise ConnectionConfigError(f"connection {conn_id!r} is not defined (set {var})")
    return parse_airflow_value(value)


DEFAULT_STORE_CONN_ID = "recon_store"


def store_dsn(explicit: str | None = None) -> str:
    """The results store DSN: ``--dsn``, then ``RECON_STORE_DSN``, then ``AIRFLOW_CONN_RECON_STORE``."""
    if explicit:
        return parse_airflow_value(explicit).libpq_dsn()
    if os.environ.get("RECON_STORE_DSN"):
        return os.environ["RECON_STORE_DSN"]
    try:
        return airflow_connection(DEFAULT_STORE_CONN_ID).libpq_dsn()
    except ConnectionConfigError:
        raise ConnectionConfigError(
            "no results store configured: pass --dsn, or set RECON_STORE_DSN or AIRFLOW_CONN_RECON_STORE"
        ) from None
