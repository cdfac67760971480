"""Every check kind on real Postgres and MariaDB: same data matches, injected faults are found
exactly, and declared normalisation turns the cosmetic differences into matches."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn
from recon_operators.engine.opener import open_side
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import parse_suite

from .recon_data import faulted, subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.integration

RULES = {
    "status": {"trim": True},
    "balance": {"type": "decimal", "scale": 2},
    "activated_at": {"type": "timestamp"},
    "email": {"empty_as_null": True},
}
ALL_KINDS = [
    {"name": "rows", "kind": "row_count"},
    {"name": "balance_total", "kind": "sum", "column": "balance"},
    {"name": "distinct_msisdn", "kind": "distinct_count", "column": "msisdn"},
    {"name": "distinct_email", "kind": "distinct_count", "column": "email"},
    {"name": "lowest_balance", "kind": "min", "column": "balance"},
    {"name": "latest_activation", "kind": "max", "column": "activated_at"},
    {"name": "first_msisdn", "kind": "min", "column": "msisdn"},
    {"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]},
    {"name": "balance_by_plan", "kind": "sum", "column": "balance", "group_by": ["plan"]},
    {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "status", "balance", "activated_at", "email"]},
    {
        "name": "active_rule",
        "kind": "rule",
        "source": "SUM(CASE WHEN plan = 'PREPAID' THEN 1 ELSE 0 END)",
        "target": "SUM(CASE WHEN plan = 'PREPAID' THEN 1 ELSE 0 END)",
    },
]


@pytest.fixture
def urls(databases) -> dict[str, str]:
    return {
        "pg": pg_dsn(databases["transform"]),
        "my": f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}",
    }


def run(
    urls, pg_table, my_table, checks=ALL_KINDS, rules=RULES, target_extra=None, source_extra=None, scope=None
) -> dict[str, Any]:
    suite = {
        "suite": "pg_vs_mariadb",
        "source": {
            "connection": urls["pg"],
            "table": pg_table,
            "filter": "cohort_id = :cohort_id",
            **(source_extra or {}),
        },
        "target": {
            "connection": urls["my"],
            "table": my_table,
            "filter": "cohort_id = :cohort_id",
            **(target_extra or {}),
        },
        "normalise": rules,
        "checks": checks,
    }
    results = run_suite(parse_suite(yaml.safe_dump(suite)), scope or Scope(env="test", cohort_id="C1"), open_side)
    return {(r.check_name, r.group): r for r in results}


def load(databases, source_rows, target_rows) -> tuple[str, str]:
    table = table_name()
    write_postgres(pg_dsn(databases["transform"]), table, source_rows)
    write_mariadb(databases["stage"], table, target_rows)
    return table, table


def statuses(results) -> dict:
    return {key: r.status.value for key, r in results.items()}


def test_same_data_matches_on_every_check_kind(databases, urls):
    rows = subscribers()
    results = run(urls, *load(databases, rows, rows))
    assert set(statuses(results).values()) == {"Match"}, {
        k: (r.expected, r.actual, r.message) for k, r in results.items() if not r.passed
    }
    assert results[("rows", None)].expected == 40
    assert results[("balance_total", None)].expected == sum(r["balance"] for r in rows)
    assert isinstance(results[("balance_total", None)].actual, Decimal)
    assert results[("latest_activation", None)].actual == "2024-01-02 23:00:00"
    assert results[("lowest_balance", None)].actual == Decimal("0.00")
    assert {g for _, g in results if g} >= {"ACTIVE", "SUSPENDED", "TERMINATED", "PREPAID", "POSTPAID"}
    assert results[("balance_total", None)].details["normalisation"]["balance"] == {
        "compared_as": "decimal scale 2 rounded",
        "source": "numeric(14,2) as decimal scale 2 rounded, rule decimal,scale=2",
        "target": "decimal(14,3) as decimal scale 2 rounded, rule decimal,scale=2",
    }


def test_dropped_row_is_found_exactly(databases, urls):
    rows = subscribers()
    results = run(urls, *load(databases, rows, faulted(rows, drop=7)))
    dropped = rows[7]
    assert (results[("rows", None)].expected, results[("rows", None)].actual, results[("rows", None)].discrepancy) == (
        40,
        39,
        -1,
    )
    assert results[("balance_total", None)].discrepancy == -dropped["balance"]
    assert results[("distinct_msisdn", None)].discrepancy == -1
    by_status = {g: r for (name, g), r in results.items() if name == "rows_by_status"}
    assert [g for g, r in by_status.items() if not r.passed] == [dropped["status"]]
    assert by_status[dropped["status"]].discrepancy == -1
    assert results[("fingerprint", None)].status.value == "Mismatch"


@pytest.mark.parametrize(
    "tolerance, expected_status",
    [(None, "Mismatch"), ({"abs": "0.01"}, "Match"), ({"abs": "0.009"}, "Mismatch"), ({"rel": "0.00001"}, "Match")],
)
def test_amount_changed_by_one_cent(databases, urls, tolerance, expected_status):
    rows = subscribers()
    check = {"name": "balance_total", "kind": "sum", "column": "balance"}
    if tolerance:
        check["tolerance"] = tolerance
    results = run(urls, *load(databases, rows, faulted(rows, amount=(3, "0.01"))), checks=[check])
    result = results[("balance_total", None)]
    assert result.discrepancy == Decimal("0.01")
    assert result.status.value == expected_status


def test_status_flip_names_the_two_groups(databases, urls):
    rows = subscribers()
    assert rows[4]["status"] == "SUSPENDED"
    results = run(
        urls,
        *load(databases, rows, faulted(rows, status=(4, "ACTIVE"))),
        checks=[{"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]}],
    )
    bad = {g: r.discrepancy for (_, g), r in results.items() if not r.passed}
    assert bad == {"ACTIVE": 1, "SUSPENDED": -1}


def test_case_differences_are_not_hidden_by_mariadb_collation(databases, urls):
    rows = subscribers()
    results = run(
        urls,
        *load(databases, rows, faulted(rows, status=(4, "suspended"))),
        checks=[
            {"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]},
            {"name": "distinct_status", "kind": "distinct_count", "column": "status"},
        ],
    )
    assert {g for (_, g), r in results.items() if not r.passed and g} == {"SUSPENDED", "suspended"}
    assert results[("distinct_status", None)].discrepancy == 1
    fixed = run(
        urls,
        *load(databases, rows, faulted(rows, status=(4, "suspended"))),
        checks=[{"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]}],
        rules={"status": {"case": "upper"}},
    )
    assert all(r.passed for r in fixed.values())


def test_trailing_spaces_mismatch_unless_trimmed(databases, urls):
    rows = subscribers()
    checks = [
        {"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]},
        {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "status"]},
    ]
    tables = load(databases, rows, faulted(rows, pad=5))
    raw = run(urls, *tables, checks=checks, rules={})
    assert raw[("fingerprint", None)].status.value == "Mismatch"
    assert any(g and g.endswith("  ") for (_, g) in raw)
    trimmed = run(urls, *tables, checks=checks, rules={"status": {"trim": True}})
    assert all(r.passed for r in trimmed.values())


def test_null_versus_empty_mismatch_unless_declared(databases, urls):
    rows = subscribers()
    assert rows[0]["email"] == ""
    checks = [
        {"name": "distinct_email", "kind": "distinct_count", "column": "email"},
        {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "email"]},
    ]
    target = [{**row, "email": row["email"] or None} for row in rows]  # the stage wrote NULL for ''
    tables = load(databases, rows, target)
    raw = run(urls, *tables, checks=checks, rules={})
    assert raw[("distinct_email", None)].discrepancy == -1  # '' counted on one side only
    assert raw[("fingerprint", None)].status.value == "Mismatch"
    declared = run(urls, *tables, checks=checks, rules={"email": {"empty_as_null": True}})
    assert all(r.passed for r in declared.values())


def test_timestamp_written_in_another_time_zone(databases, urls):
    rows = subscribers()
    local = faulted(rows)
    for row in local:  # the target system wrote wall-clock time in +07:00
        row["activated_at"] = row["activated_at"].replace() + __import__("datetime").timedelta(hours=7)
    checks = [
        {"name": "latest_activation", "kind": "max", "column": "activated_at"},
        {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "activated_at"]},
    ]
    tables = load(databases, rows, local)
    raw = run(urls, *tables, checks=checks)
    assert raw[("latest_activation", None)].actual == "2024-01-03 06:00:00"
    assert not any(r.passed for r in raw.values())
    declared = run(urls, *tables, checks=checks, target_extra={"normalise": {"activated_at": {"timezone": "+07:00"}}})
    assert all(r.passed for r in declared.values())
    assert (
        declared[("latest_activation", None)].details["normalisation"]["activated_at"]["target"]
        == "datetime as timestamp UTC, rule timestamp,tz=+07:00->UTC"
    )


def test_scope_parameters_are_bound_and_select_the_batch(databases, urls):
    rows = subscribers()
    tables = load(databases, rows, faulted(rows, drop=0))  # row 0 is in batch 1
    checks = [{"name": "rows", "kind": "row_count"}]
    batch_filter = {"filter": "cohort_id = :cohort_id AND batch_id = :batch_id"}
    batch1 = run(
        urls,
        *tables,
        checks=checks,
        source_extra=batch_filter,
        target_extra=batch_filter,
        scope=Scope(env="test", cohort_id="C1", batch_id="1"),
    )
    batch2 = run(
        urls,
        *tables,
        checks=checks,
        source_extra=batch_filter,
        target_extra=batch_filter,
        scope=Scope(env="test", cohort_id="C1", batch_id="2"),
    )
    assert (batch1[("rows", None)].expected, batch1[("rows", None)].actual) == (20, 19)
    assert batch2[("rows", None)].passed
    hostile = run(
        urls,
        *tables,
        checks=checks,
        scope=Scope(env="test", cohort_id="C1"),
        source_extra={"filter": "msisdn = :msisdn_start"},
        target_extra={"filter": "msisdn = :msisdn_start"},
    )
    assert hostile[("rows", None)].status.value == "Error"
    assert "filter needs :msisdn_start but the scope has no msisdn_start" in hostile[("rows", None)].message


def test_bound_values_are_never_sql(databases, urls):
    rows = subscribers()
    tables = load(databases, rows, rows)
    results = run(
        urls,
        *tables,
        checks=[{"name": "rows", "kind": "row_count"}],
        scope=Scope(env="test", cohort_id="C1", extra=(("plan", "PREPAID"),)),
        source_extra={"filter": "plan = :plan AND email LIKE '%example%'"},
        target_extra={"filter": "plan = :plan AND email LIKE '%example%'"},
    )
    assert results[("rows", None)].passed and results[("rows", None)].expected == 24


def test_query_side_and_rule_against_a_constant(databases, urls):
    rows = subscribers()
    pg_table, my_table = load(databases, rows, rows)
    results = run(
        urls,
        pg_table,
        my_table,
        checks=[
            {"name": "rows", "kind": "row_count"},
            {
                "name": "no_negative_balance",
                "kind": "rule",
                "target": "SUM(CASE WHEN balance < 0 THEN 1 ELSE 0 END)",
                "expect": 0,
            },
        ],
        source_extra={"table": None, "query": f"SELECT * FROM {pg_table} WHERE plan = 'PREPAID'"},
        target_extra={"filter": "cohort_id = :cohort_id AND plan = 'PREPAID'"},
    )
    assert results[("rows", None)].passed and results[("rows", None)].actual == 30
    rule = results[("no_negative_balance", None)]
    assert rule.passed and rule.expected == 0 and rule.actual == 0


def test_missing_table_missing_column_unreachable_database(databases, urls):
    rows = subscribers()
    pg_table, my_table = load(databases, rows, rows)
    missing_table = run(urls, pg_table, "no_such_table", checks=[{"name": "rows", "kind": "row_count"}])
    result = missing_table[("rows", None)]
    assert result.status.value == "Error" and "no_such_table" in result.message and "\n" not in result.message

    mixed = run(
        urls,
        pg_table,
        my_table,
        checks=[{"name": "rows", "kind": "row_count"}, {"name": "bad", "kind": "sum", "column": "no_such_column"}],
    )
    assert mixed[("rows", None)].passed  # one bad column does not take the other checks down
    assert mixed[("bad", None)].status.value == "Error" and "no_such_column" in mixed[("bad", None)].message

    down = run(
        {"pg": "postgresql://postgres@127.0.0.1:5999/x", "my": urls["my"]},
        pg_table,
        my_table,
        checks=[{"name": "rows", "kind": "row_count"}, {"name": "sum", "kind": "sum", "column": "balance"}],
    )
    assert {r.status.value for r in down.values()} == {"Error"}
    assert all("source: postgres" in r.message and "cannot connect" in r.message for r in down.values())


def test_unknown_connection_is_an_error_result(databases, urls, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_CONN", raising=False)
    rows = subscribers()
    pg_table, my_table = load(databases, rows, rows)
    results = run(
        {"pg": "no_such_conn", "my": urls["my"]}, pg_table, my_table, checks=[{"name": "rows", "kind": "row_count"}]
    )
    assert results[("rows", None)].status.value == "Error"
    assert "AIRFLOW_CONN_NO_SUCH_CONN" in results[("rows", None)].message


def test_empty_sides_compare_equal(databases, urls):
    pg_table, my_table = load(databases, [], [])
    results = run(urls, pg_table, my_table)
    assert all(r.passed for r in results.values())
    assert results[("balance_total", None)].actual == Decimal(0)


def test_float_and_json_columns_are_finished_in_duckdb_with_the_scope_bound(databases, urls):
    """A hash over a float column (Postgres double vs MariaDB decimal) is computed over the staged,
    finished values; the side's filter still binds the scope's values."""
    from tests.integration.rowdiff_data import changed, table
    from tests.integration.rowdiff_data import rows as diff_rows
    from tests.integration.rowdiff_data import write_mariadb as write_my
    from tests.integration.rowdiff_data import write_postgres as write_pg

    data = diff_rows()
    pg_table, my_table, drifted = table(), table(), table()
    write_pg(databases["transform"], pg_table, data)
    write_my(databases["stage"], my_table, data)
    write_my(databases["stage"], drifted, changed(data, 3, rate=0.3))  # row 3 is in batch 2
    checks = [
        {"name": "rate_fingerprint", "kind": "hash", "columns": ["msisdn", "rate"]},
        {"name": "rates", "kind": "distinct_count", "column": "rate"},
        {"name": "rows", "kind": "row_count"},
    ]
    batch = {"filter": "batch = :batch_id"}
    scope = Scope(env="test", batch_id="2")
    same = run(urls, pg_table, my_table, checks=checks, rules={}, source_extra=batch, target_extra=batch, scope=scope)
    assert all(r.passed for r in same.values()), {k: (r.expected, r.actual, r.message) for k, r in same.items()}
    assert same[("rows", None)].actual == 15
    assert same[("rate_fingerprint", None)].details["normalisation"]["rate"]["compared_as"] == "float"
    moved = run(urls, pg_table, drifted, checks=checks, rules={}, source_extra=batch, target_extra=batch, scope=scope)
    assert not moved[("rate_fingerprint", None)].passed and moved[("rows", None)].passed
