"""Reads for the reconciliation view: the matrix counts, gate decisions, run history, claims days.

The writes and the gate's verdict read live in ``ledger``; these are the wider reads a person
browsing the ledger needs. Plain psycopg2 and SQL files under include/sql/views, no Airflow, so
the CLI or a notebook can use them too. Values returned are as stored: whoever renders them
masks PII again (``engine.masking.scrub``), since stored text is never trusted to be clean.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg2

from recon_operators.errors import one_line
from recon_operators.paths import read_sql
from recon_operators.store.db import StoreError, transaction

SAMPLE_LIMIT = 50


@dataclass(frozen=True)
class Window:
    """Which days of results to show: both ends inclusive, either open."""

    since: date | None = None
    until: date | None = None

    def params(self) -> dict[str, date | None]:
        return {"since": self.since, "until": self.until}


def _rows(conn: Any, sql_file: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run one read from include/sql/views and return dict rows; errors become one line."""
    try:
        with transaction(conn) as cur:
            cur.execute(read_sql(f"views/{sql_file}"), params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
    except psycopg2.Error as exc:
        raise StoreError(f"reading the ledger ({sql_file}) failed: {one_line(exc)}") from None


def _scope_json(scope: Mapping[str, str]) -> str:
    return json.dumps({k: v for k, v in scope.items() if v is not None}, sort_keys=True)


def scope_counts(conn: Any, scope: Mapping[str, str], window: Window = Window()) -> list[dict[str, Any]]:
    """Current results counted per (cohort or job, stage, prefix, batch) inside ``scope``."""
    return _rows(conn, "scope_counts.sql", {"scope": _scope_json(scope), **window.params()})


def gate_decisions(
    conn: Any, scope: Mapping[str, str], window: Window = Window(), *, latest_only: bool = False
) -> list[dict[str, Any]]:
    """Gate decisions of every scope inside ``scope``, newest first (or the newest per scope)."""
    return _rows(
        conn, "gate_decisions.sql", {"scope": _scope_json(scope), "latest_only": latest_only, **window.params()}
    )


def run_history(
    conn: Any,
    scope: Mapping[str, str],
    *,
    suite: str | None = None,
    check_name: str | None = None,
    group_key: str | None = None,
) -> list[dict[str, Any]]:
    """Per run, oldest first: results counted and discrepancy summed, replaced rows included."""
    return _rows(
        conn,
        "run_history.sql",
        {"scope": _scope_json(scope), "suite": suite, "check_name": check_name, "group_key": group_key},
    )


def claims_days(
    conn: Any, window: Window = Window(), *, dataset: str | None = None, run_date: date | None = None
) -> list[dict[str, Any]]:
    """Daily claims runs with their totals, newest day first."""
    return _rows(conn, "claims_days.sql", {"dataset": dataset, "run_date": run_date, **window.params()})


def claims_columns(conn: Any, run_id: str) -> list[dict[str, Any]]:
    return _rows(conn, "claims_columns.sql", {"run_id": run_id})


def claims_samples(conn: Any, run_id: str, limit: int = SAMPLE_LIMIT) -> list[dict[str, Any]]:
    return _rows(conn, "claims_samples.sql", {"run_id": run_id, "limit": limit})
