"""Connections and transactions for the results store (psycopg2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
    """One transaction of our own: commit on success, roll back on any error, so nothing is
    half-written.

    It refuses to start on a connection with work left open (an implicit transaction from an
    uncommitted read or write, or one in error): rolling that back would silently drop someone's
    writes, and committing it would make them ours. Leaving work open is the caller's bug, so it
    is named here instead of hidden. Autocommit is switched off for the block (its statements, and
    the temp tables they make, must commit together) and restored after.
    """
    if conn.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        raise StoreError("the connection has an open transaction; commit or roll it back first")
    autocommit = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = autocommit
