"""Mini Recon 1 batch reports: landed source files vs the transformation layer, one batch at a time.

No Airflow imports: the caller reads the batch's landing tables (pyarrow Tables, ``LANDING``
names them) and hands in two psycopg2 connections, one to the transformation Postgres and one to
the results store. The SQL lives in include/sql/mini_recon_1/ (one concern per file); this
module only measures, binds and runs it.

The transformation holds migratable subscribers only (and only their rows of the other
datasets); the subscribers left behind are in its ``non_migratable_subscribers`` record. So every
landing-side measure except the status totals counts migratable subscribers' rows, and a
landed ``migratable`` that is NULL counts as non-migratable (only an explicit true migrates).

The eleven tables, per batch (landing side: pyarrow.compute group-bys; transformation side:
aggregates pushed down to Postgres, filtered by the batch's MSISDN block, in one snapshot):

* tbl_migratable_subscriber_status: per status, landed (all), landed non-migratable, transformed;
* tbl_migratable_msisdn_count: per source system, landed migratable vs transformed subscribers;
* tbl_msisdn_prefix_count: per number prefix (the cohort prefix's width), the same;
* tbl_non_migratable_count: per reason, landed non-migratable vs the exclusion record;
* tbl_addon_count: subscribers per add-on code; tbl_payment_count: payments per channel;
  tbl_promotion_count: enrolments per promotion code;
* tbl_pulsa_balance_sum, tbl_ucoin_balance_count (holders > 0 and total), tbl_user_app_login_count;
* tbl_report_voucher_open_loyalty: open vouchers per voucher type and their loyalty points.

Landing app-login eligibility is evaluated with Python's json module over the batch's small
``sso_connections`` column (pyarrow has no JSON compute kernel), mirroring
include/sql/rules/app_login_eligible_postgres.sql case for case.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recon_operators.engine.identifiers import validate_identifier
from recon_operators.migration import report_sql
from recon_operators.migration.formulas import (
    EXTERNAL_OPERATOR_KEY,
    SSO_KEY,
    SSO_PROVIDERS,
    _required,
    app_login_eligible_sql,
)
from recon_operators.migration.landing import NON_MIGRATABLE, BatchRange
from recon_operators.sql_templates import fragment, ident, render_sql
from recon_operators.store.db import transaction

__all__ = [
    "LANDING",
    "RESULT_TABLES",
    "Mr1Counts",
    "landing_counts",
    "transform_counts",
    "mr1_counts",
    "write_mr1_batch",
    "app_login_eligible_json",
]

_DIR = "mini_recon_1"
# Result table -> (insert SQL file, whether the file takes the {{table}} placeholder).
_INSERTS: dict[str, tuple[str, bool]] = {
    "tbl_migratable_subscriber_status": ("insert_subscriber_status.sql", False),
    "tbl_migratable_msisdn_count": ("insert_msisdn_count.sql", False),
    "tbl_msisdn_prefix_count": ("insert_msisdn_prefix_count.sql", False),
    "tbl_non_migratable_count": ("insert_non_migratable_count.sql", False),
    "tbl_addon_count": ("insert_subset_count.sql", True),
    "tbl_payment_count": ("insert_subset_count.sql", True),
    "tbl_promotion_count": ("insert_subset_count.sql", True),
    "tbl_pulsa_balance_sum": ("insert_pulsa_balance_sum.sql", False),
    "tbl_ucoin_balance_count": ("insert_ucoin_balance_count.sql", False),
    "tbl_user_app_login_count": ("insert_subset_count.sql", True),
    "tbl_report_voucher_open_loyalty": ("insert_voucher_open_loyalty.sql", False),
}
RESULT_TABLES = tuple(_INSERTS)
LANDING = ("subscribers", "balances", "addons", "payments", "promotions", "app_users", "vouchers")
NON_MIGRATABLE_TABLE = NON_MIGRATABLE  # the Transformation layer's record of subscribers left behind

Groups = dict[Any, int]


@dataclass(frozen=True)
class Mr1Counts:
    """Every number one Mini Recon 1 batch report compares. ``src_*``: landing; ``trgt_*``: transformation.

    Dict keys are the group values (None is a group of its own, e.g. a missing status).
    """

    src_by_status: Groups
    src_non_migratable_by_status: Groups
    trgt_by_status: Groups
    src_migratable_by_source_system: Groups
    trgt_by_source_system: Groups
    src_migratable_by_prefix: Groups
    trgt_by_prefix: Groups
    src_non_migratable_by_reason: Groups
    trgt_non_migratable_by_reason: Groups
    src_addon_subscribers: Groups
    trgt_addon_subscribers: Groups
    src_payments_by_channel: Groups
    trgt_payments_by_channel: Groups
    src_promotions_by_code: Groups
    trgt_promotions_by_code: Groups
    src_open_vouchers: Groups
    trgt_open_vouchers: Groups
    src_open_voucher_points: Groups
    trgt_open_voucher_points: Groups
    src_pulsa_sum: Decimal
    trgt_pulsa_sum: Decimal
    src_ucoin_holders: int
    src_ucoin_sum: int
    trgt_ucoin_holders: int
    trgt_ucoin_sum: int
    src_app_login: int
    trgt_app_login: int


# ------------------------------------------------------------------------------------ landing


def _in_batch(table: pa.Table, msisdn_start: str, msisdn_end: str) -> pa.Table:
    """The rows inside the block, by the domain's one batch filter (``BatchRange.expression``)."""
    return table.filter(BatchRange("", msisdn_start, msisdn_end).expression())


def _counts(table: pa.Table, key: str, value: str | None = None, how: str = "sum") -> Groups:
    """Rows per ``key``, or ``how`` (sum, count_distinct) of ``value`` per ``key``: one pyarrow group-by."""
    if table.num_rows == 0:
        return {}
    if value is None:
        grouped = table.group_by([key]).aggregate([([], "count_all")])
        return {row[key]: int(row["count_all"]) for row in grouped.to_pylist()}
    grouped = table.group_by([key]).aggregate([(value, how)])
    return {row[key]: int(row[f"{value}_{how}"] or 0) for row in grouped.to_pylist()}


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


def landing_counts(
    landing: Mapping[str, pa.Table], *, cohort_id: str, prefix: str, msisdn_start: str, msisdn_end: str
) -> dict[str, Any]:
    """The landing half of ``Mr1Counts`` (as keyword arguments), from the batch's landing tables.

    Rows outside the batch block (and subscribers of another cohort) are ignored, so the caller
    may pass a wider read. Every dataset but subscribers counts migratable subscribers' rows only.
    """
    missing = [name for name in LANDING if name not in landing]
    if missing:
        raise ValueError(f"landing tables missing: {missing}")
    subs = _in_batch(landing["subscribers"], msisdn_start, msisdn_end)
    subs = subs.filter(pc.equal(subs["cohort_id"], cohort_id))
    migratable = pc.fill_null(subs["migratable"], False)
    subs = subs.append_column("non_mig", pc.cast(pc.invert(migratable), pa.int64()))
    migrating, excluded = subs.filter(migratable), subs.filter(pc.invert(migratable))
    migrating = migrating.append_column("msisdn_prefix", pc.utf8_slice_codeunits(migrating["msisdn"], 0, len(prefix)))

    def owned(name: str) -> pa.Table:
        table = _in_batch(landing[name], msisdn_start, msisdn_end)
        return table.filter(pc.is_in(table["msisdn"], value_set=migrating["msisdn"]))

    balances = owned("balances")
    holders = balances.filter(pc.fill_null(pc.greater(balances["ucoin_balance"], 0), False))
    pulsa = pc.sum(balances["pulsa_balance"]).as_py()
    ucoin = pc.sum(holders["ucoin_balance"]).as_py()
    vouchers = owned("vouchers")
    open_vouchers = vouchers.filter(pc.fill_null(pc.equal(vouchers["voucher_status"], "OPEN"), False))
    # No vectorised JSON evaluation exists in pyarrow: one json.loads per app user of the batch.
    eligible = sum(app_login_eligible_json(doc) for doc in owned("app_users")["sso_connections"].to_pylist())

    return {
        "src_by_status": _counts(subs, "subscriber_status"),
        "src_non_migratable_by_status": _counts(subs, "subscriber_status", "non_mig"),
        "src_migratable_by_source_system": _counts(migrating, "source_system"),
        "src_migratable_by_prefix": _counts(migrating, "msisdn_prefix"),
        "src_non_migratable_by_reason": _counts(excluded, "non_migratable_reason"),
        "src_addon_subscribers": _counts(owned("addons"), "addon_code", "msisdn", "count_distinct"),
        "src_payments_by_channel": _counts(owned("payments"), "channel"),
        "src_promotions_by_code": _counts(owned("promotions"), "promo_code"),
        "src_open_vouchers": _counts(open_vouchers, "voucher_type"),
        "src_open_voucher_points": _counts(open_vouchers, "voucher_type", "points"),
        "src_pulsa_sum": Decimal(0) if pulsa is None else Decimal(pulsa),
        "src_ucoin_holders": holders.num_rows,
        "src_ucoin_sum": int(ucoin or 0),
        "src_app_login": int(eligible),
    }


# ----------------------------------------------------------------------------- transformation


def _sql(name: str, **slots: Any) -> str:
    return render_sql(f"{_DIR}/{name}", **slots)


_table = report_sql.table


# (Mr1Counts field, transformation table, group column, counted) for transform_count_by.sql.
_COUNT_BY = (
    ("trgt_non_migratable_by_reason", NON_MIGRATABLE_TABLE, "non_migratable_reason", "*"),
    ("trgt_addon_subscribers", "addons", "addon_code", 'DISTINCT "msisdn"'),
    ("trgt_payments_by_channel", "payments", "channel", "*"),
    ("trgt_promotions_by_code", "promotions", "promo_code", "*"),
)


def _grouped(cur: Any, sql: str, params: Mapping[str, Any]) -> Groups:
    cur.execute(sql, params)
    return {key: int(n) for key, n in cur.fetchall()}


def transform_counts(
    transform_conn: Any,
    *,
    cohort_id: str,
    prefix: str,
    msisdn_start: str,
    msisdn_end: str,
    transform_schema: str = "transform",
) -> dict[str, Any]:
    """The transformation half of ``Mr1Counts``: aggregate queries in one read-only snapshot."""
    validate_identifier(transform_schema)
    params = {
        "cohort_id": cohort_id,
        "msisdn_start": msisdn_start,
        "msisdn_end": msisdn_end,
        "width": len(msisdn_start),
        "prefix_width": len(prefix),
    }
    eligible = app_login_eligible_sql("postgres", "sso_connections")
    out: dict[str, Any] = {}
    by_status: Groups = {}
    by_system: Groups = {}
    with transaction(transform_conn) as cur:
        cur.execute(_sql("transform_snapshot.sql"))
        cur.execute(_sql("transform_subscriber_groups.sql", table=_table(transform_schema, "subscribers")), params)
        for status, system, _migratable, _reason, n in cur.fetchall():
            by_status[status] = by_status.get(status, 0) + n
            by_system[system] = by_system.get(system, 0) + n
        out["trgt_by_prefix"] = _grouped(
            cur, _sql("transform_prefix_counts.sql", table=_table(transform_schema, "subscribers")), params
        )
        for name, table, key, counted in _COUNT_BY:
            out[name] = _grouped(
                cur,
                _sql(
                    "transform_count_by.sql",
                    table=_table(transform_schema, table),
                    key=ident(key),
                    counted=fragment(counted),
                ),
                params,
            )
        cur.execute(_sql("transform_open_vouchers.sql", table=_table(transform_schema, "vouchers")), params)
        vouchers = cur.fetchall()
        cur.execute(_sql("transform_balance_totals.sql", table=_table(transform_schema, "balances")), params)
        pulsa, holders, ucoin = cur.fetchone()
        cur.execute(
            _sql(
                "transform_app_login_count.sql",
                table=_table(transform_schema, "app_users"),
                eligible=fragment(eligible),
            ),
            params,
        )
        (app_login,) = cur.fetchone()
    return {
        **out,
        "trgt_by_status": by_status,
        "trgt_by_source_system": by_system,
        "trgt_open_vouchers": {kind: int(n) for kind, n, _ in vouchers},
        "trgt_open_voucher_points": {kind: int(points) for kind, _, points in vouchers},
        "trgt_pulsa_sum": Decimal(pulsa),
        "trgt_ucoin_holders": int(holders),
        "trgt_ucoin_sum": int(ucoin),
        "trgt_app_login": int(app_login),
    }


def _check_range(msisdn_start: str, msisdn_end: str, prefix: str) -> None:
    """A batch block (``BatchRange`` rejects anything but a range of equal-length digits) inside a digit prefix."""
    BatchRange(f"in prefix {prefix}", msisdn_start, msisdn_end)
    if not prefix.isdigit() or len(prefix) > len(msisdn_start):
        raise ValueError(f"prefix {prefix!r} must be digits, at most as long as the MSISDNs")


def mr1_counts(
    transform_conn: Any,
    *,
    landing: Mapping[str, pa.Table],
    cohort_id: str,
    prefix: str,
    msisdn_start: str,
    msisdn_end: str,
    transform_schema: str = "transform",
) -> Mr1Counts:
    """Both sides of one batch."""
    _check_range(msisdn_start, msisdn_end, prefix)
    scope = {"cohort_id": cohort_id, "prefix": prefix, "msisdn_start": msisdn_start, "msisdn_end": msisdn_end}
    return Mr1Counts(
        **landing_counts(landing, **scope),
        **transform_counts(transform_conn, transform_schema=transform_schema, **scope),
    )


# -------------------------------------------------------------------------------------- write


def _keys(*groups: Mapping[Any, int]) -> list[Any]:
    keys = set().union(*groups)
    return sorted(keys, key=lambda k: (k is None, k or ""))


def _subset_rows(
    src: Groups, trgt: Groups, source_system: str | None, extra: Callable[[Any], dict[str, Any]] = lambda key: {}
) -> list[dict[str, Any]]:
    """One row per group found on either side; the subset is the group value (UNKNOWN for a NULL)."""
    return [
        {
            "subset": key if key is not None else "UNKNOWN",
            "source_system": source_system,
            "src_count": src.get(key, 0),
            "trgt_count": trgt.get(key, 0),
            **extra(key),
        }
        for key in _keys(src, trgt)
    ]


def _report_rows(c: Mr1Counts) -> dict[str, list[dict[str, Any]]]:
    """Parameters of every result row, per table (the formulas live in the insert SQL)."""
    status = [
        {
            "subset": "subscriber_status",
            "source_system": None,
            "subscriber_status": s,
            "src_count": c.src_by_status.get(s, 0),
            "non_migratable_count": c.src_non_migratable_by_status.get(s, 0),
            "trgt_count": c.trgt_by_status.get(s, 0),
        }
        for s in _keys(c.src_by_status, c.trgt_by_status)
    ]
    return {
        "tbl_migratable_subscriber_status": status,
        "tbl_migratable_msisdn_count": _subset_rows(
            c.src_migratable_by_source_system, c.trgt_by_source_system, None, lambda key: {"source_system": key}
        ),
        "tbl_msisdn_prefix_count": _subset_rows(
            c.src_migratable_by_prefix,
            c.trgt_by_prefix,
            None,
            lambda key: {"subset": "msisdn_prefix", "msisdn_prefix": key},
        ),
        "tbl_non_migratable_count": _subset_rows(
            c.src_non_migratable_by_reason,
            c.trgt_non_migratable_by_reason,
            None,
            lambda key: {"subset": "non_migratable", "non_migratable_reason": key},
        ),
        "tbl_addon_count": _subset_rows(c.src_addon_subscribers, c.trgt_addon_subscribers, "CRM"),
        "tbl_payment_count": _subset_rows(c.src_payments_by_channel, c.trgt_payments_by_channel, "MW"),
        "tbl_promotion_count": _subset_rows(c.src_promotions_by_code, c.trgt_promotions_by_code, "MW"),
        "tbl_pulsa_balance_sum": [
            {
                "subset": "pulsa_balance",
                "source_system": "CRM",
                "src_sum": c.src_pulsa_sum,
                "trgt_sum": c.trgt_pulsa_sum,
            }
        ],
        "tbl_ucoin_balance_count": [
            {
                "subset": "ucoin_balance",
                "source_system": "CRM",
                "src_count": c.src_ucoin_holders,
                "trgt_count": c.trgt_ucoin_holders,
                "src_balance": c.src_ucoin_sum,
                "trgt_balance": c.trgt_ucoin_sum,
            }
        ],
        "tbl_user_app_login_count": [
            {"subset": "app_login", "source_system": "MW", "src_count": c.src_app_login, "trgt_count": c.trgt_app_login}
        ],
        "tbl_report_voucher_open_loyalty": _subset_rows(
            c.src_open_vouchers,
            c.trgt_open_vouchers,
            "MW",
            lambda key: {
                "src_points": c.src_open_voucher_points.get(key, 0),
                "trgt_points": c.trgt_open_voucher_points.get(key, 0),
            },
        ),
    }


def write_mr1_batch(
    store_conn: Any,
    transform_conn: Any,
    *,
    run_id: str,
    env: str,
    cohort_id: str,
    prefix_id: str,
    prefix: str,
    batch_id: str,
    msisdn_start: str,
    msisdn_end: str,
    landing: Mapping[str, pa.Table],
    transform_schema: str = "transform",
) -> dict[str, Any]:
    """Measure one batch and replace its Mini Recon 1 rows in ONE store transaction.

    Deletes the batch's previous rows (env, cohort, prefix, batch) in each result table, inserts
    the new ones, and upserts ``mini_recon_1.recon_status`` (recon_01) with active_status Passed
    only when every row of the batch passed. Measuring happens before the store transaction
    opens, so a failed read changes nothing. Returns ``rows`` (written per table,
    ``recon_status``: 1), ``failed`` (per table, the subsets that failed) and ``active_status``.
    """
    scope = {
        "run_id": run_id,
        "env": env,
        "cohort_id": cohort_id,
        "prefix_id": prefix_id,
        "prefix": prefix,
        "batch_id": batch_id,
        "msisdn_start": msisdn_start,
        "msisdn_end": msisdn_end,
    }
    _required(**scope)
    counts = mr1_counts(
        transform_conn,
        landing=landing,
        cohort_id=cohort_id,
        prefix=prefix,
        msisdn_start=msisdn_start,
        msisdn_end=msisdn_end,
        transform_schema=transform_schema,
    )
    rows = _report_rows(counts)
    written: dict[str, int] = {}
    failed: dict[str, list[str]] = {}
    results: list[dict[str, Any]] = []
    with transaction(store_conn) as cur:
        for table, (insert, takes_table) in _INSERTS.items():
            target = _table("mini_recon_1", table)
            cur.execute(_sql("batch_delete.sql", table=target), scope)
            sql = _sql(insert, table=target) if takes_table else _sql(insert)
            for row in rows[table]:
                cur.execute(sql, {**scope, **row})
                results.append(_result(table, row, cur.fetchone()[0]))
                if results[-1]["status"] != "Passed":
                    failed.setdefault(table, []).append(results[-1]["group"])
            written[table] = len(rows[table])
        active = "Failed" if failed else "Passed"
        cur.execute(_sql("upsert_recon_status.sql"), {**scope, "active_status": active})
        written["recon_status"] = cur.rowcount
    return {"rows": written, "failed": failed, "active_status": active, "results": results}


def _result(table: str, row: Mapping[str, Any], status: str) -> dict[str, Any]:
    """One written row as a check outcome: the value the transformation should hold vs what it holds.

    ``group`` names what the row speaks about (a status, reason, prefix, code; never an MSISDN);
    ``also`` carries the second measure of the two-measure tables (UCoin balance, voucher points).
    """
    group = next(
        (str(row[k]) for k in ("subscriber_status", "non_migratable_reason", "msisdn_prefix") if k in row),
        str(row["subset"]),
    )
    if table == "tbl_migratable_subscriber_status":
        expected, actual = row["src_count"] - row["non_migratable_count"], row["trgt_count"]
    elif table == "tbl_pulsa_balance_sum":
        expected, actual = row["src_sum"], row["trgt_sum"]
    else:
        expected, actual = row["src_count"], row["trgt_count"]
    also = {k: row[k] for k in ("src_balance", "trgt_balance", "src_points", "trgt_points") if k in row}
    return {"table": table, "group": group, "expected": expected, "actual": actual, "status": status, "also": also}
