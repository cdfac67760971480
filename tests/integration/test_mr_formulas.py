"""Mini Recon formulas on real Postgres (and MariaDB, mongomock for the app-login rule).

Every test works under a cohort id of its own, so tests sharing the session store never collide.
"""

from __future__ import annotations

import json
import uuid
from contextlib import closing
from decimal import Decimal
from typing import Any

import mongomock
import psycopg2
import pytest

from recon_operators.demo import services
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.migration import (
    SubsetCount,
    app_login_eligible_mongo,
    app_login_eligible_sql,
    write_mr2_subset_status,
    write_prefix_summary,
)

pytestmark = pytest.mark.integration

ENV = "dev"
STATUS_TABLE = "mini_recon_1.tbl_migratable_subscriber_status"
MSISDN_TABLE = "mini_recon_1.tbl_migratable_msisdn_count"
SUMMARY_TABLE = "mini_recon_1.tbl_recon_report_prefix_summary"


@pytest.fixture
def conn(store_conn: Any) -> Any:
    return store_conn


@pytest.fixture
def cohort() -> str:
    return f"C{uuid.uuid4().hex[:10]}"


def _run_id() -> str:
    return f"run-{uuid.uuid4().hex[:8]}"


def _status_rows(
    conn: Any,
    cohort: str,
    prefix: str,
    rows: list[tuple[str, str, int | None, int | None, int | None]],
    subset: str = "migratable",
) -> None:
    """Batch rows (batch_id, subscriber_status, src, non_migratable, trgt) as the batch jobs write them."""
    with conn, conn.cursor() as cur:
        for batch_id, status, src, non_mig, trgt in rows:
            cur.execute(
                f"INSERT INTO {STATUS_TABLE} (run_id, env, cohort_id, prefix_id, prefix, batch_id, subset,"
                " source_system, subscriber_status, src_count, non_migratable_count, trgt_count)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'BSS', %s, %s, %s, %s)",
                (_run_id(), ENV, cohort, f"P{prefix}", prefix, batch_id, subset, status, src, non_mig, trgt),
            )


def _msisdn_rows(conn: Any, cohort: str, prefix: str, rows: list[tuple[str, str, int | None, int | None]]) -> None:
    """Batch rows (batch_id, subset, source_system_count, target_transform_count)."""
    with conn, conn.cursor() as cur:
        for batch_id, subset, src, trgt in rows:
            cur.execute(
                f"INSERT INTO {MSISDN_TABLE} (run_id, env, cohort_id, prefix_id, prefix, batch_id, subset,"
                " source_system, source_system_count, target_transform_count)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'BSS', %s, %s)",
                (_run_id(), ENV, cohort, f"P{prefix}", prefix, batch_id, subset, src, trgt),
            )


def _summarise(conn: Any, cohort: str, prefix: str, run_id: str | None = None) -> list[dict[str, Any]]:
    return write_prefix_summary(
        conn, run_id=run_id or _run_id(), env=ENV, cohort_id=cohort, prefix_id=f"P{prefix}", prefix=prefix
    )


def _stored(conn: Any, cohort: str, prefix: str) -> list[tuple[Any, ...]]:
    with conn, conn.cursor() as cur:
        cur.execute(
            f"SELECT id, run_id, subscriber_status, src_count, non_migratable_count, trgt_count,"
            f" match_percent, status_match, migratable_count_status, failed_subsets"
            f" FROM {SUMMARY_TABLE} WHERE cohort_id = %s AND prefix = %s ORDER BY id",
            (cohort, prefix),
        )
        return cur.fetchall()


# ---------------------------------------------------------------- Mini Recon 1: match percent


@pytest.mark.parametrize(
    ("src", "non_mig", "trgt", "percent", "status"),
    [
        pytest.param(0, 0, 0, "100.00", "Match", id="zero-both-sides"),
        pytest.param(0, 0, 5, "0.00", "Mismatch", id="source-zero-target-positive"),
        pytest.param(10, 0, 0, "0.00", "Mismatch", id="target-zero"),
        pytest.param(5, 5, 0, "100.00", "Match", id="all-non-migratable"),
        pytest.param(10, 4, 6, "100.00", "Match", id="non-migratable-excluded"),
        pytest.param(3, 0, 2, "66.66", "Mismatch", id="truncates-2-of-3"),
        pytest.param(7, 0, 1, "14.28", "Mismatch", id="truncates-1-of-7"),
        pytest.param(1_000_000_007, 0, 999_999_999, "99.99", "Mismatch", id="never-rounds-up-to-100"),
        pytest.param(10, 0, 12, "120.00", "Mismatch", id="target-above-source"),
        pytest.param(5, 8, 0, "0.00", "Mismatch", id="non-migratable-above-source-target-zero"),
        pytest.param(5, 8, 3, "0.00", "Mismatch", id="non-migratable-above-source"),
        pytest.param(5, 8, -3, "0.00", "Mismatch", id="negative-denominator-never-matches"),
    ],
)
def test_match_percent_and_status(conn, cohort, src, non_mig, trgt, percent, status):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", src, non_mig, trgt)])
    [row] = _summarise(conn, cohort, "62811")
    assert (row["src_count"], row["non_migratable_count"], row["trgt_count"]) == (src, non_mig, trgt)
    assert row["match_percent"] == Decimal(percent)
    assert row["status_match"] == status


def test_batches_are_summed_per_status_and_other_scopes_ignored(conn, cohort):
    _status_rows(
        conn,
        cohort,
        "62811",
        [
            ("1", "ACTIVE", 100, 10, 90),
            ("2", "ACTIVE", 50, 0, 49),
            ("2", "SUSPENDED", 20, 2, 18),
        ],
    )
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 7, 0, 7)], subset="second_subset")
    _status_rows(conn, cohort, "62812", [("1", "ACTIVE", 1000, 0, 0)])  # another prefix
    _status_rows(conn, f"{cohort}x", "62811", [("1", "ACTIVE", 1000, 0, 0)])  # another cohort

    rows = _summarise(conn, cohort, "62811")
    by_status = {r["subscriber_status"]: r for r in rows}
    assert sorted(by_status) == ["ACTIVE", "SUSPENDED"]
    active = by_status["ACTIVE"]
    assert (active["src_count"], active["non_migratable_count"], active["trgt_count"]) == (157, 10, 146)
    assert (active["match_percent"], active["status_match"]) == (Decimal("99.31"), "Mismatch")  # 146/147
    suspended = by_status["SUSPENDED"]
    assert (suspended["match_percent"], suspended["status_match"]) == (Decimal("100.00"), "Match")
    assert all(
        (r["env"], r["cohort_id"], r["prefix_id"], r["prefix"]) == (ENV, cohort, "P62811", "62811") for r in rows
    )
    assert len(_stored(conn, cohort, "62811")) == 2


def test_missing_count_is_a_mismatch_not_a_pass(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 10, None, 10), ("2", "ACTIVE", None, 0, None)])
    _status_rows(conn, cohort, "62811", [("1", "CHURNED", None, 0, None)])
    rows = {r["subscriber_status"]: r for r in _summarise(conn, cohort, "62811")}
    # NULL non-migratable reads as 0; a NULL source or target count was never taken.
    assert (rows["ACTIVE"]["non_migratable_count"], rows["ACTIVE"]["status_match"]) == (0, "Mismatch")
    assert rows["ACTIVE"]["match_percent"] is None
    assert (rows["CHURNED"]["status_match"], rows["CHURNED"]["match_percent"]) == ("Mismatch", None)


# ---------------------------------------------------------- Mini Recon 1: migratable count rollup


def test_failed_subsets_are_listed_sorted_on_every_row(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 5, 0, 5), ("1", "IDLE", 2, 0, 2)])
    _msisdn_rows(
        conn,
        cohort,
        "62811",
        [
            ("1", "prepaid", 10, 12),  # batches differ but the prefix sums agree: 15 = 15
            ("2", "prepaid", 5, 3),
            ("1", "postpaid", 8, 7),
            ("1", "b2b", 4, 5),
            ("2", "Zulu", 1, 0),  # code-point order puts capitals first
            ("1", "iot", 0, 0),
        ],
    )
    rows = _summarise(conn, cohort, "62811")
    assert len(rows) == 2
    for row in rows:
        assert row["status_match"] == "Match"
        assert row["migratable_count_status"] == "Mismatch"
        assert row["failed_subsets"] == ["Zulu", "b2b", "postpaid"]


def test_one_failed_subset(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 5, 0, 5)])
    _msisdn_rows(conn, cohort, "62811", [("1", "prepaid", 10, 10), ("1", "postpaid", 3, 2)])
    [row] = _summarise(conn, cohort, "62811")
    assert (row["migratable_count_status"], row["failed_subsets"]) == ("Mismatch", ["postpaid"])


def test_all_subsets_pass(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 5, 0, 5)])
    _msisdn_rows(conn, cohort, "62811", [("1", "prepaid", 10, 10), ("2", "postpaid", 0, 0)])
    [row] = _summarise(conn, cohort, "62811")
    assert (row["migratable_count_status"], row["failed_subsets"]) == ("Match", [])


def test_subset_with_a_missing_count_fails(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 5, 0, 5)])
    _msisdn_rows(conn, cohort, "62811", [("1", "prepaid", 10, 10), ("2", "prepaid", None, None)])
    [row] = _summarise(conn, cohort, "62811")
    assert (row["migratable_count_status"], row["failed_subsets"]) == ("Mismatch", ["prepaid"])


def test_empty_prefix_is_one_zero_row_that_matches(conn, cohort):
    [row] = _summarise(conn, cohort, "62899")
    assert row["subscriber_status"] is None
    assert (row["src_count"], row["non_migratable_count"], row["trgt_count"]) == (0, 0, 0)
    assert (row["match_percent"], row["status_match"]) == (Decimal("100.00"), "Match")
    assert (row["migratable_count_status"], row["failed_subsets"]) == ("Match", [])
    assert len(_stored(conn, cohort, "62899")) == 1


def test_prefix_without_status_rows_still_reports_failed_subsets(conn, cohort):
    _msisdn_rows(conn, cohort, "62899", [("1", "prepaid", 3, 1)])
    [row] = _summarise(conn, cohort, "62899")
    assert (row["status_match"], row["migratable_count_status"], row["failed_subsets"]) == (
        "Match",
        "Mismatch",
        ["prepaid"],
    )


# --------------------------------------------------------------- Mini Recon 1: idempotent writes


def test_rerun_replaces_only_that_prefixs_rows(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 10, 0, 9), ("1", "IDLE", 4, 0, 4)])
    _status_rows(conn, cohort, "62812", [("1", "ACTIVE", 3, 0, 3)])
    _summarise(conn, cohort, "62811", run_id="first")
    _summarise(conn, cohort, "62812", run_id="other")
    other_before = _stored(conn, cohort, "62812")

    _status_rows(conn, cohort, "62811", [("2", "ACTIVE", 0, 0, 1)])  # a late batch lands
    rows = _summarise(conn, cohort, "62811", run_id="second")

    stored = _stored(conn, cohort, "62811")
    assert len(stored) == 2 and {r[1] for r in stored} == {"second"}
    assert {r["id"] for r in rows} == {r[0] for r in stored}
    active = next(r for r in rows if r["subscriber_status"] == "ACTIVE")
    assert (active["trgt_count"], active["match_percent"], active["status_match"]) == (10, Decimal("100.00"), "Match")
    assert _stored(conn, cohort, "62812") == other_before  # same ids, same values


def test_failed_rerun_keeps_the_previous_summary(conn, cohort):
    _status_rows(conn, cohort, "62811", [("1", "ACTIVE", 10, 0, 10)])
    _summarise(conn, cohort, "62811", run_id="good")
    before = _stored(conn, cohort, "62811")
    # 10^10 percent overflows numeric(12,2): the write fails as a whole.
    _status_rows(conn, cohort, "62811", [("2", "ACTIVE", 0, 0, 1_000_000_000)])
    with pytest.raises(psycopg2.errors.NumericValueOutOfRange):
        _summarise(conn, cohort, "62811", run_id="bad")
    assert _stored(conn, cohort, "62811") == before


def test_prefix_summary_refuses_unclear_calls(conn, cohort):
    with pytest.raises(ValueError, match="prefix_id"):
        write_prefix_summary(conn, run_id="r", env=ENV, cohort_id=cohort, prefix_id="", prefix="62811")
    with conn.cursor() as cur:
        cur.execute("SELECT 1")  # the caller's own transaction is now open
    with pytest.raises(RuntimeError, match="open transaction"):
        _summarise(conn, cohort, "62811")
    conn.rollback()


# ------------------------------------------------------------------------------- Mini Recon 2


def _mr2(conn: Any, cohort: str, batch_id: str, counts: list[SubsetCount], run_id: str | None = None):
    return write_mr2_subset_status(
        conn,
        run_id=run_id or _run_id(),
        env=ENV,
        cohort_id=cohort,
        prefix_id="P62811",
        prefix="62811",
        batch_id=batch_id,
        msisdn_start="6281100000",
        msisdn_end="6281199999",
        counts=counts,
    )


def _mr2_stored(conn: Any, cohort: str, table: str) -> list[tuple[Any, ...]]:
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM mini_recon_2.{table} WHERE cohort_id = %s ORDER BY id", (cohort,))
        return cur.fetchall()


def test_mr2_subset_status_and_service_summary(conn, cohort):
    written = _mr2(
        conn,
        cohort,
        "1",
        [
            SubsetCount("User", "users", 100, 100),
            SubsetCount("User", "telco_accounts", 0, 0),
            SubsetCount("Payment", "profile", 50, 48),
            SubsetCount("Payment", "instruments", 7, 7),
        ],
    )
    subsets = {(r["service"], r["subset"]): r for r in written.subsets}
    assert subsets[("User", "users")]["subset_status"] == "Passed"
    assert subsets[("User", "telco_accounts")]["subset_status"] == "Passed"
    assert (subsets[("Payment", "profile")]["subset_status"], subsets[("Payment", "profile")]["difference"]) == (
        "Failed",
        2,
    )
    summary = {r["service"]: (r["total_subsets"], r["failed_subsets"], r["status"]) for r in written.summary}
    assert summary == {"User": (2, 0, "Passed"), "Payment": (2, 1, "Failed")}
    assert written.passed is False
    assert len(_mr2_stored(conn, cohort, "tbl_transformed_msisdn")) == 4
    assert len(_mr2_stored(conn, cohort, "tbl_recon_2_summary")) == 2


def test_mr2_rerun_replaces_only_its_batch(conn, cohort):
    _mr2(conn, cohort, "1", [SubsetCount("User", "users", 1, 2), SubsetCount("OMS", "orders", 3, 3)])
    _mr2(conn, cohort, "2", [SubsetCount("User", "users", 5, 5)], run_id="batch-2")
    written = _mr2(conn, cohort, "1", [SubsetCount("User", "users", 2, 2)], run_id="rerun")
    assert written.passed is True

    rows = _mr2_stored(conn, cohort, "tbl_transformed_msisdn")
    assert sorted((r[1], r[6]) for r in rows) == [("batch-2", "2"), ("rerun", "1")]
    summary = _mr2_stored(conn, cohort, "tbl_recon_2_summary")
    assert sorted((r[1], r[6], r[9], r[12]) for r in summary) == [
        ("batch-2", "2", "User", "Passed"),
        ("rerun", "1", "User", "Passed"),
    ]


def test_mr2_works_on_an_autocommit_connection_and_restores_it(conn, cohort):
    conn.autocommit = True
    written = _mr2(conn, cohort, "1", [SubsetCount("User", "users", 1, 1)])
    assert written.passed and conn.autocommit is True


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ([], "no subset counts"),
        ([SubsetCount("User", "users", 1, 1), SubsetCount("User", "users", 2, 2)], "more than once"),
    ],
)
def test_mr2_refuses_inputs_nobody_measured(conn, cohort, counts, message):
    with pytest.raises(ValueError, match=message):
        _mr2(conn, cohort, "1", counts)
    assert _mr2_stored(conn, cohort, "tbl_transformed_msisdn") == []


@pytest.mark.parametrize("bad", [-1, True, None, 1.5])
def test_subset_count_must_be_a_count(bad):
    with pytest.raises(ValueError, match="count"):
        SubsetCount("User", "users", bad, 1)


# ------------------------------------------------------------------- app-login eligibility rule

APP_LOGIN_CASES: list[tuple[str, Any, bool]] = [
    ("google-record", {"sso": {"google": {"id": "1"}}}, True),
    ("facebook-record", {"sso": {"facebook": {"id": "fb-1"}}}, True),
    ("apple-record", {"sso": {"apple": {"sub": "a-1"}}}, True),
    ("one-of-several", {"sso": {"google": None, "apple": {"id": "a"}}}, True),
    ("provider-null", {"sso": {"google": None}}, False),
    ("provider-empty-object", {"sso": {"google": {}}}, False),
    ("provider-false", {"sso": {"google": False}}, False),
    ("provider-true", {"sso": {"google": True}}, False),
    ("provider-empty-string", {"sso": {"google": ""}}, False),
    ("provider-string", {"sso": {"google": "id-1"}}, False),
    ("provider-empty-array", {"sso": {"google": []}}, False),
    ("provider-array-of-records", {"sso": {"google": [{"id": "1"}]}}, False),
    ("sso-empty-array", {"sso": []}, False),
    ("sso-array-of-objects", {"sso": [{"google": {"id": "1"}}]}, False),
    ("sso-null", {"sso": None}, False),
    ("sso-string", {"sso": "google"}, False),
    ("connections-list", {"connections": ["google"]}, False),
    ("other-provider", {"sso": {"twitter": {"id": "t"}}}, False),
    ("capitalised-provider", {"sso": {"Google": {"id": "1"}}}, False),
    ("operator-number", {"external_operator_number": "6281100001"}, True),
    ("operator-number-padded", {"external_operator_number": " 62811 "}, True),
    ("operator-number-empty", {"external_operator_number": ""}, False),
    ("operator-number-blank", {"external_operator_number": "  \t "}, False),
    ("operator-number-null", {"external_operator_number": None}, False),
    ("operator-number-as-number", {"external_operator_number": 6281100001}, False),
    ("operator-number-in-array", {"external_operator_number": ["6281"]}, False),
    ("either-rule", {"sso": {"google": None}, "external_operator_number": "62811"}, True),
    ("sso-wins-over-empty-number", {"sso": {"facebook": {"id": "f"}}, "external_operator_number": ""}, True),
    ("empty-document", {}, False),
    ("null-document", None, False),
    ("document-is-array", [{"sso": {"google": {"id": "1"}}}], False),
]
EXPECTED_ELIGIBLE = {i for i, (_, _, ok) in enumerate(APP_LOGIN_CASES) if ok}


def _case_names(ids: set[int]) -> list[str]:
    return sorted(APP_LOGIN_CASES[i][0] for i in ids)


def test_app_login_rule_postgres(conn):
    rule_jsonb = app_login_eligible_sql("postgres", "u.doc")
    rule_text = app_login_eligible_sql("postgresql", "doc_text")
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE app_login_users (id int, doc jsonb, doc_text text) ON COMMIT DROP")
        for i, (_, doc, _) in enumerate(APP_LOGIN_CASES):
            text = None if doc is None else json.dumps(doc)
            cur.execute("INSERT INTO app_login_users VALUES (%s, %s::jsonb, %s)", (i, text, text))
        cur.execute(f"SELECT id, {rule_jsonb}, {rule_text} FROM app_login_users u WHERE u.id >= %s", (0,))
        results = cur.fetchall()
    conn.rollback()
    assert all(isinstance(a, bool) and isinstance(b, bool) for _, a, b in results)  # never NULL
    assert _case_names({i for i, ok, _ in results if ok}) == _case_names(EXPECTED_ELIGIBLE)
    assert _case_names({i for i, _, ok in results if ok}) == _case_names(EXPECTED_ELIGIBLE)


def test_app_login_rule_mariadb(databases):
    import MySQLdb

    table = f"app_login_{uuid.uuid4().hex[:8]}"
    rule = app_login_eligible_sql("mariadb", "doc")
    with closing(
        MySQLdb.connect(
            host=services.MARIADB_HOST,
            port=services.MARIADB_PORT,
            user=services.MARIADB_USER,
            passwd="",
            db=databases["stage"],
            charset="utf8mb4",
        )
    ) as my:
        cur = my.cursor()
        cur.execute(f"CREATE TABLE `{table}` (id int PRIMARY KEY, doc JSON)")
        try:
            cur.executemany(
                f"INSERT INTO `{table}` VALUES (%s, %s)",
                [(i, None if doc is None else json.dumps(doc)) for i, (_, doc, _) in enumerate(APP_LOGIN_CASES)],
            )
            my.commit()
            cur.execute(f"SELECT id, {rule} FROM `{table}` WHERE id >= %s", (0,))
            results = cur.fetchall()
        finally:
            cur.execute(f"DROP TABLE `{table}`")
    assert all(flag in (0, 1) for _, flag in results)  # never NULL
    assert _case_names({i for i, ok in results if ok}) == _case_names(EXPECTED_ELIGIBLE)


def test_app_login_rule_mongo_nested_field():
    users = mongomock.MongoClient()["stage"]["users"]
    users.insert_many([{"_id": i, "profile": doc} for i, (_, doc, _) in enumerate(APP_LOGIN_CASES)])
    rule = app_login_eligible_mongo("profile")
    found = {d["_id"] for d in users.find(rule)}
    matched = {d["_id"] for d in users.aggregate([{"$match": rule}])}
    assert _case_names(found) == _case_names(EXPECTED_ELIGIBLE)
    assert matched == found


def test_app_login_rule_mongo_document_root():
    users = mongomock.MongoClient()["stage"]["users"]
    roots = [(i, doc) for i, (_, doc, _) in enumerate(APP_LOGIN_CASES) if isinstance(doc, dict)]
    users.insert_many([{"_id": i, **doc} for i, doc in roots])
    found = {d["_id"] for d in users.find(app_login_eligible_mongo())}
    assert _case_names(found) == _case_names(EXPECTED_ELIGIBLE & {i for i, _ in roots})


def test_app_login_rule_refuses_bad_identifiers_and_dialects():
    with pytest.raises(IdentifierError):
        app_login_eligible_sql("postgres", 'doc"; DROP TABLE users; --')
    with pytest.raises(IdentifierError):
        app_login_eligible_sql("mysql", "a.b.c")
    with pytest.raises(ValueError, match="dialect"):
        app_login_eligible_sql("oracle", "doc")
    with pytest.raises(IdentifierError):
        app_login_eligible_mongo("profile.$where")
    assert app_login_eligible_sql("mysql", "u.doc").count("`u`.`doc`") == 8
