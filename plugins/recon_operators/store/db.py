"""Connections and transactions for the results store (psycopg2)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import psycopg2
import psycopg2.extensions

from recon_operators.errors import one_line

ConnectionFactory = Callable[[], Any]


class StoreError(RuntimeError):
    """The results store could not be reached or refused a write; nothing was half-written."""


def connect(dsn: str, connect_timeout: int = 5) -> Any:
    """Open a connection, turning libpq's multi-line errors into one readable line."""
    try:
        return psycopg2.connect(dsn, connect_timeout=connect_timeout)
    except psycopg2.OperationalError as exc:
        raise StoreError(f"cannot reach the results store: {one_line(exc)}") from None


@contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """One transaction: commit on success, roll back on any error so nothing is half-written."""
    if conn.status != psycopg2.extensions.STATUS_READY:
        conn.rollback()
    cur = conn.cursor()
    try:
        yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()
