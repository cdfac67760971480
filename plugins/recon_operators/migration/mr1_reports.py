"""Mini Recon 1 batch reports: landed source files vs the transformation layer, one batch at a time.

No Airflow imports: the caller reads the batch's landing tables (``subscribers``, ``balances``,
``app_users`` as pyarrow Tables) and hands in two psycopg2 connections, one to the transformation
Postgres and one to the results store. The SQL lives in include/sql/mini_recon_1/ (one concern
per file); this module only measures, binds and runs it.

Measures (landing side with pyarrow.compute group-bys, transformation side pushed down to
Postgres as aggregates filtered by the batch's MSISDN block):

* per subscriber_status: landed rows, landed non-migratable rows, transformation rows;
* per source_system: landed migratable rows vs transformation rows;
* per non_migratable_reason: landed non-migratable rows vs transformation non-migratable rows;
* pulsa balance total, UCoin holders (> 0) and total, app-login eligible users: landed rows of
  migratable subscribers vs the transformation tables (expected to hold only migratable ones).

A landed ``migratable`` that is NULL counts as non-migratable (only an explicit true migrates).
Landing app-login eligibility is evaluated with Python's json module over the batch's small
``sso_connections`` column (pyarrow has no JSON compute kernel), mirroring
include/sql/rules/app_login_eligible_postgres.sql case for case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from recon_operators.engine.identifiers import quote_ident, validate_identifier
from recon_operators.migration.formulas import (
    EXTERNAL_OPERATOR_KEY,
    SSO_KEY,
    SSO_PROVIDERS,
    _required,
    _transaction,
    app_login_eligible_sql,
)
from recon_operators.paths import read_sql

__all__ = ["Mr1Counts", "RESULT_TABLES", "landing_counts", "transform_counts", "mr1_counts",
           "write_mr1_batch", "app_login_eligible_json"]

_DIR = "mini_recon_1"
_INSERTS = {
    "tbl_migratable_subscriber_status": "insert_subscriber_status.sql",
    "tbl_migratable_msisdn_count": "insert_msisdn_count.sql",
    "tbl_non_migratable_count": "insert_non_migratable_count.sql",
    "tbl_pulsa_balance_sum": "insert_pulsa_balance_sum.sql",
    "tbl_ucoin_balance_count": "insert_ucoin_balance_count.sql",
    "tbl_user_app_login_count": "insert_user_app_login_count.sql",
}
RESULT_TABLES = tuple(_INSERTS)
_LANDING = ("subscribers", "balances", "app_users")


@dataclass(frozen=True)
class Mr1Counts:
    """Every number one Mini Recon 1 batch report compares. ``src_*``: landing; ``trgt_*``: transformation.

    Dict keys are the group values (None is a group of its own, e.g. a missing status).
    """

    src_by_status: dict[str | None, int] = field(default_factory=dict)
    src_non_migratable_by_status: dict[str | None, int] = field(default_factory=dict)
    trgt_by_status: dict[str | None, int] = field(default_factory=dict)
    src_migratable_by_source_system: dict[str | None, int] = field(default_factory=dict)
    trgt_by_source_system: dict[str | None, int] = field(default_factory=dict)
    src_non_migratable_by_reason: dict[str | None, int] = field(default_factory=dict)
    trgt_non_migratable_by_reason: dict[str | None, int] = field(default_factory=dict)
    src_pulsa_sum: Decimal = Decimal(0)
    trgt_pulsa_sum: Decimal = Decimal(0)
    src_ucoin_holders: int = 0
    src_ucoin_sum: int = 0
    trgt_ucoin_holders: int = 0
    trgt_ucoin_sum: int = 0
    src_app_login: int = 0
    trgt_app_login: int = 0


# ------------------------------------------------------------------------------------ landing

def _in_batch(table: pa.Table, msisdn_start: str, msisdn_end: str) -> pa.Table:
    msisdn = table["msisdn"]
    keep = pc.and_(pc.and_(pc.greater_equal(msisdn, msisdn_start), pc.less_equal(msisdn, msisdn_end)),
                   pc.equal(pc.utf8_length(msisdn), len(msisdn_start)))
    return table.filter(keep)


def _counts(table: pa.Table, key: str, value: str | None = None) -> dict[str | None, int]:
    """Rows per ``key`` (or the sum of int column ``value`` per ``key``) via one pyarrow group-by."""
    if table.num_rows == 0:
        return {}
    if value is None:
        grouped = table.group_by([key]).aggregate([([], "count_all")])
        return {row[key]: int(row["count_all"]) for row in grouped.to_pylist()}
    grouped = table.group_by([key]).aggregate([(value, "sum")])
    return {row[key]: int(row[f"{value}_sum"] or 0) for row in grouped.to_pylist()}


def _json_connected(value: Any) -> bool:
    return isinstance(value, dict) and bool(value)


def app_login_eligible_json(document: str | None) -> bool:
    """The app-login rule over one JSON text, as include/sql/rules/app_login_eligible_postgres.sql.

    Eligible when "sso" is an object with google/facebook/apple holding a non-empty object, or
    "external_operator_number" is a string with a non-space character. NULL is not eligible;
    invalid JSON raises ValueError (as the Postgres cast raises an error).
    """
    if document is None:
        return False
    doc = json.loads(document)
    if not isinstance(doc, dict):
        return False
    sso = doc.get(SSO_KEY)
    if isinstance(sso, dict) and any(_json_connected(sso.get(p)) for p in SSO_PROVIDERS):
        return True
    number = doc.get(EXTERNAL_OPERATOR_KEY)
    return isinstance(number, str) and bool(number.strip())


def landing_counts(landing: Mapping[str, pa.Table], *, cohort_id: str, msisdn_start: str,
                   msisdn_end: str) -> dict[str, Any]:
    """The landing half of ``Mr1Counts`` (as keyword arguments), from the batch's landing tables.

    Rows outside the batch block (and subscribers of another cohort) are ignored, so the caller
    may pass a wider read. Balances and app users count only for migratable subscribers.
    """
    missing = [name for name in _LANDING if name not in landing]
    if missing:
        raise ValueError(f"landing tables missing: {missing}")
    subs = _in_batch(landing["subscribers"], msisdn_start, msisdn_end)
    subs = subs.filter(pc.equal(subs["cohort_id"], cohort_id))
    migratable = pc.fill_null(subs["migratable"], False)
    subs = subs.append_column("non_mig", pc.cast(pc.invert(migratable), pa.int64()))
    migrating, excluded = subs.filter(migratable), subs.filter(pc.invert(migratable))
    keep = migrating["msisdn"]

    balances = _in_batch(landing["balances"], msisdn_start, msisdn_end)
    balances = balances.filter(pc.is_in(balances["msisdn"], value_set=keep))
    holders = balances.filter(pc.fill_null(pc.greater(balances["ucoin_balance"], 0), False))
    pulsa = pc.sum(balances["pulsa_balance"]).as_py()
    ucoin = pc.sum(holders["ucoin_balance"]).as_py()

    users = _in_batch(landing["app_users"], msisdn_start, msisdn_end)
    users = users.filter(pc.is_in(users["msisdn"], value_set=keep))
    # No vectorised JSON evaluation exists in pyarrow: one json.loads per app user of the batch.
    eligible = sum(app_login_eligible_json(doc) for doc in users["sso_connections"].to_pylist())

    return {
        "src_by_status": _counts(subs, "subscriber_status"),
        "src_non_migratable_by_status": _counts(subs, "subscriber_status", "non_mig"),
        "src_migratable_by_source_system": _counts(migrating, "source_system"),
        "src_non_migratable_by_reason": _counts(excluded, "non_migratable_reason"),
        "src_pulsa_sum": Decimal(0) if pulsa is None else Decimal(pulsa),
        "src_ucoin_holders": holders.num_rows,
        "src_ucoin_sum": int(ucoin or 0),
        "src_app_login": int(eligible),
    }


# ----------------------------------------------------------------------------- transformation

def _sql(name: str, **replace: str) -> str:
    text = read_sql(f"{_DIR}/{name}")
    for key, value in replace.items():
        placeholder = "{{" + key + "}}"
        if placeholder not in text:
            raise RuntimeError(f"{name} lost its {placeholder} placeholder")
        text = text.replace(placeholder, value)
    if "{{" in text:
        raise RuntimeError(f"{name} holds an unreplaced placeholder")
    return text


def _table(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def transform_counts(transform_conn: Any, *, cohort_id: str, msisdn_start: str, msisdn_end: str,
                     transform_schema: str = "transform") -> dict[str, Any]:
    """The transformation half of ``Mr1Counts``: three aggregate queries in one read-only snapshot."""
    validate_identifier(transform_schema)
    params = {"cohort_id": cohort_id, "msisdn_start": msisdn_start, "msisdn_end": msisdn_end,
              "width": len(msisdn_start)}
    eligible = app_login_eligible_sql("postgres", "sso_connections")
    by_status: dict[str | None, int] = {}
    by_system: dict[str | None, int] = {}
    by_reason: dict[str | None, int] = {}
    with _transaction(transform_conn) as cur:
        cur.execute(_sql("transform_snapshot.sql"))
        cur.execute(_sql("transform_subscriber_groups.sql", table=_table(transform_schema, "subscribers")), params)
        for status, system, migratable, reason, n in cur.fetchall():
            by_status[status] = by_status.get(status, 0) + n
            by_system[system] = by_system.get(system, 0) + n
            if migratable is not True:
                by_reason[reason] = by_reason.get(reason, 0) + n
        cur.execute(_sql("transform_balance_totals.sql", table=_table(transform_schema, "balances")), params)
        pulsa, holders, ucoin = cur.fetchone()
        cur.execute(_sql("transform_app_login_count.sql", table=_table(transform_schema, "app_users"),
                         eligible=eligible), params)
        (app_login,) = cur.fetchone()
    return {
        "trgt_by_status": by_status, "trgt_by_source_system": by_system,
        "trgt_non_migratable_by_reason": by_reason, "trgt_pulsa_sum": Decimal(pulsa),
        "trgt_ucoin_holders": int(holders), "trgt_ucoin_sum": int(ucoin), "trgt_app_login": int(app_login),
    }


def _check_range(msisdn_start: str, msisdn_end: str) -> None:
    ok = (isinstance(msisdn_start, str) and isinstance(msisdn_end, str) and msisdn_start.isdigit()
          and msisdn_end.isdigit() and len(msisdn_start) == len(msisdn_end) and msisdn_start <= msisdn_end)
    if not ok:
        raise ValueError(f"{msisdn_start!r}..{msisdn_end!r} is not a range of equal-length digit strings")


def mr1_counts(transform_conn: Any, *, landing: Mapping[str, pa.Table], cohort_id: str, msisdn_start: str,
               msisdn_end: str, transform_schema: str = "transform") -> Mr1Counts:
    """Both sides of one batch."""
    _check_range(msisdn_start, msisdn_end)
    scope = {"cohort_id": cohort_id, "msisdn_start": msisdn_start, "msisdn_end": msisdn_end}
    return Mr1Counts(**landing_counts(landing, **scope),
                     **transform_counts(transform_conn, transform_schema=transform_schema, **scope))


# -------------------------------------------------------------------------------------- write

def _keys(*groups: Mapping[str | None, int]) -> list[str | None]:
    keys = set().union(*groups)
    return sorted(keys, key=lambda k: (k is None, k or ""))


def _report_rows(counts: Mr1Counts) -> dict[str, list[dict[str, Any]]]:
    """Parameters of every result row, per table (the formulas live in the insert SQL)."""
    status = [{"subset": "subscriber_status", "source_system": None, "subscriber_status": s,
               "src_count": counts.src_by_status.get(s, 0),
               "non_migratable_count": counts.src_non_migratable_by_status.get(s, 0),
               "trgt_count": counts.trgt_by_status.get(s, 0)}
              for s in _keys(counts.src_by_status, counts.trgt_by_status)]
    systems = [{"subset": s if s is not None else "UNKNOWN", "source_system": s,
                "src_count": counts.src_migratable_by_source_system.get(s, 0),
                "trgt_count": counts.trgt_by_source_system.get(s, 0)}
               for s in _keys(counts.src_migratable_by_source_system, counts.trgt_by_source_system)]
    reasons = [{"subset": "non_migratable", "source_system": None, "non_migratable_reason": r,
                "src_count": counts.src_non_migratable_by_reason.get(r, 0),
                "trgt_count": counts.trgt_non_migratable_by_reason.get(r, 0)}
               for r in _keys(counts.src_non_migratable_by_reason, counts.trgt_non_migratable_by_reason)]
    return {
        "tbl_migratable_subscriber_status": status,
        "tbl_migratable_msisdn_count": systems,
        "tbl_non_migratable_count": reasons,
        "tbl_pulsa_balance_sum": [{"subset": "pulsa_balance", "source_system": "CRM",
                                   "src_sum": counts.src_pulsa_sum, "trgt_sum": counts.trgt_pulsa_sum}],
        "tbl_ucoin_balance_count": [{"subset": "ucoin_balance", "source_system": "CRM",
                                     "src_count": counts.src_ucoin_holders, "trgt_count": counts.trgt_ucoin_holders,
                                     "src_balance": counts.src_ucoin_sum, "trgt_balance": counts.trgt_ucoin_sum}],
        "tbl_user_app_login_count": [{"subset": "app_login", "source_system": "MW",
                                      "src_count": counts.src_app_login, "trgt_count": counts.trgt_app_login}],
    }


def write_mr1_batch(store_conn: Any, transform_conn: Any, *, run_id: str, env: str, cohort_id: str,
                    prefix_id: str, prefix: str, batch_id: str, msisdn_start: str, msisdn_end: str,
                    landing: dict[str, pa.Table], transform_schema: str = "transform") -> dict[str, int]:
    """Measure one batch and replace its Mini Recon 1 rows in ONE store transaction.

    Deletes the batch's previous rows (env, cohort, prefix, batch) in each result table, inserts
    the new ones, and upserts ``mini_recon_1.recon_status`` (recon_01) with active_status Passed
    only when every row of the batch passed. Returns rows written per table (``recon_status``: 1).
    Measuring happens before the store transaction opens, so a failed read changes nothing.
    """
    _required(run_id=run_id, env=env, cohort_id=cohort_id, prefix_id=prefix_id, prefix=prefix,
              batch_id=batch_id, msisdn_start=msisdn_start, msisdn_end=msisdn_end)
    counts = mr1_counts(transform_conn, landing=landing, cohort_id=cohort_id, msisdn_start=msisdn_start,
                        msisdn_end=msisdn_end, transform_schema=transform_schema)
    scope = {"run_id": run_id, "env": env, "cohort_id": cohort_id, "prefix_id": prefix_id, "prefix": prefix,
             "batch_id": batch_id, "msisdn_start": msisdn_start, "msisdn_end": msisdn_end}
    rows = _report_rows(counts)
    written: dict[str, int] = {}
    statuses: list[str] = []
    with _transaction(store_conn) as cur:
        for table, insert in _INSERTS.items():
            cur.execute(_sql("batch_delete.sql", table=_table("mini_recon_1", table)), scope)
            sql = _sql(insert)
            for row in rows[table]:
                cur.execute(sql, {**scope, **row})
                statuses.append(cur.fetchone()[0])
            written[table] = len(rows[table])
        active = "Passed" if all(s == "Passed" for s in statuses) else "Failed"
        cur.execute(_sql("upsert_recon_status.sql"), {**scope, "active_status": active})
        written["recon_status"] = cur.rowcount
    return written
