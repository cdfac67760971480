"""Connection settings outside Airflow: URLs and ``AIRFLOW_CONN_*`` variables, without Airflow.

The CLI and the engine must run where Airflow is not installed (a laptop, a Spark driver), yet
read the same ``AIRFLOW_CONN_<ID>`` variables that Airflow reads, in URI or JSON form.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

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
    def postgres_from(cls, conn: Any) -> ConnectionInfo:
        """From an Airflow ``Connection`` (duck-typed, so this module needs no Airflow import)."""
        return cls(
            conn_type="postgres",
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            schema=conn.schema,
            extra=conn.extra_dejson,
        )

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
        return f"postgresql://{auth}{host}{port}/{quote(self.schema or 'postgres', safe='')}" + (
            f"?{query}" if query else ""
        )

    def masked(self) -> str:
        """For logs, errors and labels: ``postgres://user:***@host:5432/db``, never the password."""
        user = f"{self.login}{':***' if self.password else ''}@" if self.login else (":***@" if self.password else "")
        port = f":{self.port}" if self.port else ""
        return f"{self.conn_type}://{user}{self.host or ''}{port}/{self.schema or ''}"


# What may stand between "@" and the path: a host name, an IPv4 or a bracketed IPv6, and a port.
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.%\-]*)(?::(?P<port>[^/?#]*))?")
_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
_ENCODE_HINT = "percent-encode / # ? @ % in the user name and password (%2F %23 %3F %40 %25)"


@dataclass(frozen=True)
class _UrlParts:
    scheme: str
    userinfo: str | None  # as written, still percent-encoded
    host: str
    port: str | None
    path: str
    query: str


def _authority_end(rest: str) -> tuple[str | None, int]:
    """Where the user part ends (at its last "@") and the host starts.

    RFC 3986 ends the authority at the first ``/``, ``?`` or ``#``, but passwords are often
    written with those characters unencoded. So an "@" after that point still closes a
    ``user:password`` part when a host follows it and no ``=`` came before it (an "@" inside a
    ``?filter=`` value always has one); otherwise the standard split holds.
    """
    standard_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    at = rest.find("@", standard_end) if ":" in rest[:standard_end] else -1
    while at != -1 and "=" not in rest[standard_end:at]:
        host = _HOST_PORT.match(rest, at + 1)
        after = host.end() if host else at + 1
        if host and host.group("host") and (after == len(rest) or rest[after] in "/?#"):
            return rest[:at], at + 1
        at = rest.find("@", at + 1)
    netloc = rest[:standard_end]
    userinfo, sep, _ = netloc.rpartition("@")
    return (userinfo, len(userinfo) + 1) if sep else (None, 0)


def _split_url(url: str) -> _UrlParts:
    """One strict split of a connection URL. Errors never quote the URL: it may hold a password."""
    scheme = _SCHEME.match(url.strip())
    if not scheme:
        raise ConnectionConfigError("a connection URL looks like scheme://user:password@host:port/database")
    rest = url.strip()[scheme.end() :]
    userinfo, host_start = _authority_end(rest)
    host = _HOST_PORT.match(rest, host_start)
    after = host.end() if host else host_start
    if host is None or (after < len(rest) and rest[after] not in "/?#"):
        raise ConnectionConfigError(
            f"{scheme.group('scheme')} connection URL: the host is not a host name or address; {_ENCODE_HINT}"
        )
    port = host.group("port")
    if port is not None and port != "" and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConnectionConfigError(
            f"{scheme.group('scheme')} connection URL: the port is not a number from 1 to 65535; {_ENCODE_HINT}"
        )
    tail = rest[after:].split("#", 1)[0]
    path, _, query = tail.partition("?")
    return _UrlParts(scheme.group("scheme"), userinfo, host.group("host"), port or None, path, query)


def url_secrets(url: str) -> set[str]:
    """The password a URL holds, as written and decoded, so callers can hide it from anything
    they print; empty when the URL holds none or is no URL."""
    try:
        userinfo = _split_url(url).userinfo
    except ConnectionConfigError:
        return set()
    _, sep, password = (userinfo or "").partition(":")
    return {password, unquote(password)} if sep and password else set()


_SECRET_EXTRA_KEY = re.compile(r"secret|password|passwd|token|api_?key|private", re.IGNORECASE)


def connection_secrets(value: str) -> set[str]:
    """The secrets a connection value (URI or JSON, as in ``AIRFLOW_CONN_*``) holds: the password
    as written and decoded, and extras whose names say they are secret."""
    found = url_secrets(value)
    try:
        info = parse_airflow_value(value)
    except ConnectionConfigError:
        return found
    found |= {info.password} if info.password else set()
    return found | {str(v) for k, v in info.extra.items() if _SECRET_EXTRA_KEY.search(str(k)) and v}


def environment_secrets(environ: Mapping[str, str]) -> set[str]:
    """Every secret of the connections this process can see (``AIRFLOW_CONN_*``, ``RECON_STORE_DSN``)."""
    found: set[str] = set()
    for name, value in environ.items():
        if name.startswith("AIRFLOW_CONN_") or name == "RECON_STORE_DSN":
            found |= connection_secrets(value)
    return found


def split_query_options(url: str, names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """The URL without the query parameters ``names`` (a dataset URL's table, filter...), and
    their values: split where the strict parser finds the query, so a password holding "?" or
    "#" unencoded stays whole."""
    parts = _split_url(url)
    wanted, kept, options = set(names), [], {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        (options.__setitem__(key, value) if key in wanted else kept.append((key, value)))
    base = url.strip()
    if parts.query:  # the query is the URL's tail (a fragment after it goes too)
        base = base[: base.rindex("?" + parts.query)]
    return base + (f"?{urlencode(kept)}" if kept else ""), options


def parse_uri(uri: str) -> ConnectionInfo:
    """A connection URL (Airflow's URI form, ``__extra__`` JSON included), parsed once, strictly."""
    parts = _split_url(uri)
    scheme = parts.scheme.replace("-", "").replace("_", "").lower()
    if scheme not in _SCHEME_ALIASES:
        raise ConnectionConfigError(f"unsupported connection scheme {parts.scheme!r}")
    extra: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "__extra__":
            extra.update(_extra_json(value, "__extra__ in the connection URL"))
        else:
            extra[key] = value
    login, sep, password = (parts.userinfo or "").partition(":")
    return ConnectionInfo(
        conn_type=_SCHEME_ALIASES[scheme],
        host=unquote(parts.host) or None,
        port=int(parts.port) if parts.port else None,
        login=unquote(login) or None,
        password=unquote(password) if sep and password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra=extra,
    )


def _extra_json(value: Any, what: str) -> dict[str, Any]:
    """Airflow's JSON extras; a malformed one is one line that does not quote it (it may hold keys)."""
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ConnectionConfigError(f"{what} is not valid JSON ({getattr(exc, 'msg', 'not text')})") from None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"{what} must be a JSON object")
    return data


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
        port = data.get("port")
        if port and not str(port).isdigit():
            raise ConnectionConfigError("connection JSON: port must be a number")
        return ConnectionInfo(
            conn_type=conn_type,
            host=data.get("host"),
            port=int(port) if port else None,
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra=_extra_json(data.get("extra") or {}, "connection JSON extra"),
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
        dsn = os.environ["RECON_STORE_DSN"]
        return parse_uri(dsn).libpq_dsn() if "://" in dsn else dsn  # a libpq "host=... dbname=..." string as is
    try:
        return airflow_connection(DEFAULT_STORE_CONN_ID).libpq_dsn()
    except ConnectionConfigError:
        raise ConnectionConfigError(
            "no results store configured: pass --dsn, or set RECON_STORE_DSN or AIRFLOW_CONN_RECON_STORE"
        ) from None
