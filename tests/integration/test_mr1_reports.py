"""Mini Recon 1 batch reports on real Postgres: landing tables vs a transformation the real loader wrote.

Every test uses its own cohort id and its own transformation schema, so tests sharing the
session databases never collide. The transformation is written by ``loaders.load_transform``
(migratable subscribers only, exclusion record, faults) from landing files on local disk.
Expected numbers are recomputed here with plain Python over the generated rows, independently of
the pyarrow/SQL code under test.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest

from recon_operators.demo import loaders
from recon_operators.demo.faults import Fault, with_faults
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.migration.formulas import write_prefix_summary
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.mr1_reports import LANDING, RESULT_TABLES, app_login_eligible_json, write_mr1_batch

pytestmark = pytest.mark.integration

ENV = "dev"
PREFIX_ID, PREFIX = "P812", "62812"
BATCHES = [BatchRange("1", "628120000000", "628120000149"), BatchRange("2", "628120000150", "628120000299")]


@pytest.fixture
def cohort_id() -> str:
    return f"C{uuid.uuid4().hex[:10]}"


@pytest.fixture
def tables(cohort_id: str) -> dict[str, pa.Table]:
    spec = CohortSpec(cohort_id, [PrefixSpec(PREFIX_ID, PREFIX, BATCHES)], seed=11, non_migratable_rate=0.1)
    return generate(spec)


@pytest.fixture
def landing_base(tmp_path: Path, cohort_id: str, tables: dict[str, pa.Table]) -> str:
    base = str(tmp_path / "landing")
    write_landing(tables, filesystem=pafs.LocalFileSystem(), base_path=base, cohort_id=cohort_id)
    return base


@pytest.fixture
def store(store_conn: Any) -> Any:
    return store_conn


@pytest.fixture
def transform(transform_conn: Any) -> Any:
    return transform_conn


@pytest.fixture
def schema() -> str:
    return f"mr1_{uuid.uuid4().hex[:10]}"


# -------------------------------------------------------------------------------- helpers


def in_batch(table: pa.Table, batch: BatchRange) -> pa.Table:
    m = table["msisdn"]
    return table.filter(pc.and_(pc.greater_equal(m, batch.msisdn_start), pc.less_equal(m, batch.msisdn_end)))


def landing(tables: dict[str, pa.Table], batch: BatchRange) -> dict[str, pa.Table]:
    return {name: in_batch(tables[name], batch) for name in LANDING}


def load(
    conn: Any, schema: str, cohort_id: str, base: str, batch: BatchRange, faults: list[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The batch's transformation, written by the real loader; returns the faults it injected."""
    injected: list[dict[str, Any]] = []
    with_faults(loaders.load_transform, Fault.from_conf(faults), injected)(
        landing_fs=pafs.LocalFileSystem(),
        landing_base=base,
        cohort_id=cohort_id,
        batch=batch,
        pg_conn=conn,
        schema=schema,
    )
    return injected


def write(
    store: Any,
    transform: Any,
    schema: str,
    cohort_id: str,
    tables: dict[str, pa.Table],
    batch: BatchRange,
    run_id: str | None = None,
) -> dict[str, Any]:
    return write_mr1_batch(
        store,
        transform,
        run_id=run_id or f"run-{uuid.uuid4().hex[:8]}",
        env=ENV,
        cohort_id=cohort_id,
        prefix_id=PREFIX_ID,
        prefix=PREFIX,
        batch_id=batch.batch_id,
        msisdn_start=batch.msisdn_start,
        msisdn_end=batch.msisdn_end,
        landing=landing(tables, batch),
        transform_schema=schema,
    )


def fetch(store: Any, table: str, cohort_id: str, columns: str, batch_id: str | None = None) -> list[tuple]:
    sql = f"SELECT {columns} FROM mini_recon_1.{table} WHERE cohort_id = %s"
    params: list[Any] = [cohort_id]
    if batch_id is not None:
        sql += " AND batch_id = %s"
        params.append(batch_id)
    with store, store.cursor() as cur:
        cur.execute(sql + " ORDER BY 1, 2", params)
        return cur.fetchall()


def statuses(store: Any, cohort_id: str) -> dict[str, set[str]]:
    """Per result table, the statuses its rows of this cohort hold."""
    return {t: {r[1] for r in fetch(store, t, cohort_id, "subset, status")} for t in RESULT_TABLES}


def failed_tables(store: Any, cohort_id: str) -> set[str]:
    return {t for t, found in statuses(store, cohort_id).items() if "Failed" in found}


def expected(tables: dict[str, pa.Table], batch: BatchRange) -> dict[str, Any]:
    """Plain-Python recount of the batch (rows as dicts, no pyarrow compute)."""
    subs = in_batch(tables["subscribers"], batch).to_pylist()
    migr = {s["msisdn"] for s in subs if s["migratable"] is True}

    def owned(name: str) -> list[dict[str, Any]]:
        return [r for r in in_batch(tables[name], batch).to_pylist() if r["msisdn"] in migr]

    bal = owned("balances")
    addons: dict[str, set[str]] = {}
    for a in owned("addons"):
        addons.setdefault(a["addon_code"], set()).add(a["msisdn"])
    open_vouchers = [v for v in owned("vouchers") if v["voucher_status"] == "OPEN"]
    points: Counter = Counter()
    for v in open_vouchers:
        points[v["voucher_type"]] += v["points"]
    return {
        "status": Counter(s["subscriber_status"] for s in subs),
        "status_nm": Counter(s["subscriber_status"] for s in subs if s["msisdn"] not in migr),
        "system": Counter(s["source_system"] for s in subs if s["msisdn"] in migr),
        "prefix": Counter(s["msisdn"][: len(PREFIX)] for s in subs if s["msisdn"] in migr),
        "reason": Counter(s["non_migratable_reason"] for s in subs if s["msisdn"] not in migr),
        "addons": {code: len(members) for code, members in addons.items()},
        "payments": Counter(p["channel"] for p in owned("payments")),
        "promotions": Counter(p["promo_code"] for p in owned("promotions")),
        "open_vouchers": Counter(v["voucher_type"] for v in open_vouchers),
        "open_points": points,
        "pulsa": sum((b["pulsa_balance"] for b in bal), Decimal(0)),
        "ucoin_holders": sum(1 for b in bal if b["ucoin_balance"] > 0),
        "ucoin": sum(b["ucoin_balance"] for b in bal if b["ucoin_balance"] > 0),
        "app_login": sum(1 for u in owned("app_users") if app_login_eligible_json(u["sso_connections"])),
        "migratable": len(migr),
        "subscribers": len(subs),
    }


def recon_status(store: Any, cohort_id: str) -> list[tuple]:
    with store, store.cursor() as cur:
        cur.execute(
            "SELECT batch_id, recon_number, active_status, msisdn_start, msisdn_end, prefix_summary_status"
            " FROM mini_recon_1.recon_status WHERE cohort_id = %s ORDER BY batch_id",
            (cohort_id,),
        )
        return cur.fetchall()


def same(counts: Counter | dict) -> list[tuple]:
    """Rows (subset, src, trgt, difference, status) of a table whose sides agree."""
    return [(k, n, n, 0, "Passed") for k, n in sorted(counts.items())]


# ---------------------------------------------------------------------------------- tests


def test_generated_batch_has_what_the_checks_need(tables: dict[str, pa.Table]) -> None:
    want = expected(tables, BATCHES[0])
    assert want["subscribers"] == 150
    assert 0 < want["migratable"] < 150  # some non-migratable subscribers
    assert len(want["system"]) == 2 and want["ucoin_holders"] > 0 and want["app_login"] > 0
    assert len(want["addons"]) > 1 and len(want["payments"]) > 1 and len(want["open_vouchers"]) > 1


def test_clean_batch_passes_all_eleven_tables(
    store: Any, transform: Any, schema: str, cohort_id: str, landing_base: str, tables: dict[str, pa.Table]
) -> None:
    batch = BATCHES[0]
    load(transform, schema, cohort_id, landing_base, batch)
    want = expected(tables, batch)
    written = write(store, transform, schema, cohort_id, tables, batch)
    assert written["failed"] == {} and written["active_status"] == "Passed"
    assert written["rows"] == {
        "tbl_migratable_subscriber_status": len(want["status"]),
        "tbl_migratable_msisdn_count": len(want["system"]),
        "tbl_msisdn_prefix_count": 1,
        "tbl_non_migratable_count": len(want["reason"]),
        "tbl_addon_count": len(want["addons"]),
        "tbl_payment_count": len(want["payments"]),
        "tbl_promotion_count": len(want["promotions"]),
        "tbl_pulsa_balance_sum": 1,
        "tbl_ucoin_balance_count": 1,
        "tbl_user_app_login_count": 1,
        "tbl_report_voucher_open_loyalty": len(want["open_vouchers"]),
        "recon_status": 1,
    }
    assert set(RESULT_TABLES) == set(written["rows"]) - {"recon_status"} and len(RESULT_TABLES) == 11
    rows = fetch(
        store,
        "tbl_migratable_subscriber_status",
        cohort_id,
        "subscriber_status, src_count, non_migratable_count, trgt_count, difference, status, subset,"
        " prefix_id, prefix, batch_id, msisdn_start, msisdn_end, env",
    )
    assert rows == [
        (
            s,
            want["status"][s],
            want["status_nm"][s],
            want["status"][s] - want["status_nm"][s],
            0,
            "Passed",
            "subscriber_status",
            PREFIX_ID,
            PREFIX,
            "1",
            batch.msisdn_start,
            batch.msisdn_end,
            ENV,
        )
        for s in sorted(want["status"])
    ]
    assert fetch(
        store,
        "tbl_migratable_msisdn_count",
        cohort_id,
        "subset, source_system_count, target_transform_count, difference, status",
    ) == same(want["system"])
    assert fetch(
        store, "tbl_msisdn_prefix_count", cohort_id, "msisdn_prefix, src_count, trgt_count, difference, status"
    ) == same(want["prefix"])
    assert fetch(
        store,
        "tbl_non_migratable_count",
        cohort_id,
        "non_migratable_reason, non_migratable_count, trgt_count, difference, status",
    ) == same(want["reason"])
    for table, key in (
        ("tbl_addon_count", "addons"),
        ("tbl_payment_count", "payments"),
        ("tbl_promotion_count", "promotions"),
        ("tbl_report_voucher_open_loyalty", "open_vouchers"),
    ):
        assert fetch(store, table, cohort_id, "subset, src_count, trgt_count, difference, status") == same(want[key])
    assert fetch(store, "tbl_report_voucher_open_loyalty", cohort_id, "subset, src_points, trgt_points") == [
        (k, n, n) for k, n in sorted(want["open_points"].items())
    ]
    assert fetch(store, "tbl_pulsa_balance_sum", cohort_id, "subset, src_sum, trgt_sum, difference, status") == [
        ("pulsa_balance", want["pulsa"], want["pulsa"], Decimal("0.0000"), "Passed")
    ]
    assert want["pulsa"] != want["pulsa"].to_integral_value()  # real cents, compared exactly
    assert fetch(
        store,
        "tbl_ucoin_balance_count",
        cohort_id,
        "subset, src_count, trgt_count, difference, src_balance, trgt_balance, status",
    ) == [
        (
            "ucoin_balance",
            want["ucoin_holders"],
            want["ucoin_holders"],
            0,
            Decimal(want["ucoin"]),
            Decimal(want["ucoin"]),
            "Passed",
        )
    ]
    assert fetch(store, "tbl_user_app_login_count", cohort_id, "subset, src_count, trgt_count, difference, status") == [
        ("app_login", want["app_login"], want["app_login"], 0, "Passed")
    ]
    assert recon_status(store, cohort_id) == [("1", "recon_01", "Passed", batch.msisdn_start, batch.msisdn_end, None)]


@pytest.mark.parametrize(
    "fault, tables_failed",
    [
        (
            {"kind": "drop", "dataset": "subscribers", "n": 2},
            {"tbl_migratable_subscriber_status", "tbl_migratable_msisdn_count", "tbl_msisdn_prefix_count"},
        ),
        (
            {"kind": "flip", "dataset": "subscribers", "column": "subscriber_status", "to_value": "BARRED", "n": 2},
            {"tbl_migratable_subscriber_status"},
        ),
        (
            {"kind": "drift", "dataset": "balances", "column": "pulsa_balance", "delta": "0.01", "n": 1},
            {"tbl_pulsa_balance_sum"},
        ),
        (
            {"kind": "drift", "dataset": "balances", "column": "ucoin_balance", "delta": "5", "n": 1},
            {"tbl_ucoin_balance_count"},
        ),
        ({"kind": "drop", "dataset": "payments", "n": 1}, {"tbl_payment_count"}),
        (
            {"kind": "flip", "dataset": "promotions", "column": "promo_code", "to_value": "WELCOME10", "n": 1},
            {"tbl_promotion_count"},
        ),
        (
            {"kind": "flip", "dataset": "vouchers", "column": "voucher_status", "to_value": "OPEN", "n": 1},
            {"tbl_report_voucher_open_loyalty"},
        ),
    ],
)
def test_each_fault_fails_its_own_table(
    store: Any,
    transform: Any,
    schema: str,
    cohort_id: str,
    landing_base: str,
    tables: dict[str, pa.Table],
    fault: dict[str, Any],
    tables_failed: set[str],
) -> None:
    batch = BATCHES[0]
    injected = load(transform, schema, cohort_id, landing_base, batch, [{"stage": "transform", **fault}])
    assert len(injected) == 1 and len(injected[0]["keys"]) == fault["n"]
    written = write(store, transform, schema, cohort_id, tables, batch)
    assert failed_tables(store, cohort_id) == tables_failed == set(written["failed"])
    assert recon_status(store, cohort_id)[0][2] == "Failed"


def test_dropped_addons_are_counted_per_subscriber_and_code(
    store: Any, transform: Any, schema: str, cohort_id: str, landing_base: str, tables: dict[str, pa.Table]
) -> None:
    batch = BATCHES[0]
    injected = load(
        transform,
        schema,
        cohort_id,
        landing_base,
        batch,
        [{"stage": "transform", "kind": "drop", "dataset": "addons", "n": 6}],
    )
    lost = set(injected[0]["keys"])
    kept: dict[str, set[str]] = {}
    migr = {s["msisdn"] for s in in_batch(tables["subscribers"], batch).to_pylist() if s["migratable"]}
    for a in in_batch(tables["addons"], batch).to_pylist():
        if a["msisdn"] in migr and a["addon_id"] not in lost:
            kept.setdefault(a["addon_code"], set()).add(a["msisdn"])
    want = expected(tables, batch)["addons"]
    write(store, transform, schema, cohort_id, tables, batch)
    rows = fetch(store, "tbl_addon_count", cohort_id, "subset, src_count, trgt_count, status")
    assert rows == [
        (c, n, len(kept.get(c, ())), "Passed" if n == len(kept.get(c, ())) else "Failed")
        for c, n in sorted(want.items())
    ]
    assert sum(r[1] - r[2] for r in rows) > 0  # six lost add-ons cost at least one subscriber-code pair here


def test_lost_exclusion_record_fails_the_non_migratable_table(
    store: Any, transform: Any, schema: str, cohort_id: str, landing_base: str, tables: dict[str, pa.Table]
) -> None:
    batch = BATCHES[0]
    load(transform, schema, cohort_id, landing_base, batch)
    with transform, transform.cursor() as cur:
        cur.execute(
            f'DELETE FROM "{schema}".non_migratable_subscribers WHERE msisdn = '
            f'(SELECT min(msisdn) FROM "{schema}".non_migratable_subscribers) RETURNING non_migratable_reason'
        )
        (reason,) = cur.fetchone()
    want = expected(tables, batch)["reason"]
    write(store, transform, schema, cohort_id, tables, batch)
    assert fetch(
        store, "tbl_non_migratable_count", cohort_id, "non_migratable_reason, src_count, trgt_count, status"
    ) == [(r, n, n - (r == reason), "Failed" if r == reason else "Passed") for r, n in sorted(want.items())]
    assert failed_tables(store, cohort_id) == {"tbl_non_migratable_count"}


def test_rerun_replaces_only_its_batch(
    store: Any, transform: Any, schema: str, cohort_id: str, landing_base: str, tables: dict[str, pa.Table]
) -> None:
    for batch in BATCHES:
        load(transform, schema, cohort_id, landing_base, batch)
        write(store, transform, schema, cohort_id, tables, batch, run_id="run-first")
    before = {t: fetch(store, t, cohort_id, "batch_id, id, run_id", "2") for t in RESULT_TABLES}
    with store, store.cursor() as cur:  # the prefix trigger marked the summary started
        cur.execute(
            "UPDATE mini_recon_1.recon_status SET prefix_summary_status = 'Started' WHERE cohort_id = %s", (cohort_id,)
        )
    load(
        transform,
        schema,
        cohort_id,
        landing_base,
        BATCHES[0],
        [{"stage": "transform", "kind": "drop", "dataset": "subscribers", "n": 2}],
    )
    write(store, transform, schema, cohort_id, tables, BATCHES[0], run_id="run-second")
    for table in RESULT_TABLES:
        assert fetch(store, table, cohort_id, "batch_id, id, run_id", "2") == before[table], table
        first = fetch(store, table, cohort_id, "batch_id, run_id", "1")
        assert first and {r[1] for r in first} == {"run-second"}, table
    with store, store.cursor() as cur:
        cur.execute(
            "SELECT batch_id, count(*) FROM mini_recon_1.tbl_migratable_subscriber_status"
            " WHERE cohort_id = %s GROUP BY 1 ORDER BY 1",
            (cohort_id,),
        )
        counts = cur.fetchall()
    assert counts == [
        ("1", len(expected(tables, BATCHES[0])["status"])),
        ("2", len(expected(tables, BATCHES[1])["status"])),
    ]
    assert [(r[0], r[2], r[5]) for r in recon_status(store, cohort_id)] == [
        ("1", "Failed", None),
        ("2", "Passed", "Started"),
    ]


def test_prefix_summary_over_two_written_batches(
    store: Any, transform: Any, schema: str, cohort_id: str, landing_base: str, tables: dict[str, pa.Table]
) -> None:
    load(transform, schema, cohort_id, landing_base, BATCHES[0])
    injected = load(
        transform,
        schema,
        cohort_id,
        landing_base,
        BATCHES[1],
        [{"stage": "transform", "kind": "drop", "dataset": "subscribers", "n": 2}],
    )
    subs = {s["msisdn"]: s for s in tables["subscribers"].to_pylist()}
    dropped = [subs[m] for m in injected[0]["keys"]]
    for batch in BATCHES:
        write(store, transform, schema, cohort_id, tables, batch)
    w1, w2 = expected(tables, BATCHES[0]), expected(tables, BATCHES[1])
    status, status_nm = w1["status"] + w2["status"], w1["status_nm"] + w2["status_nm"]
    lost = Counter(d["subscriber_status"] for d in dropped)
    summary = write_prefix_summary(
        store, run_id="sum-1", env=ENV, cohort_id=cohort_id, prefix_id=PREFIX_ID, prefix=PREFIX
    )
    failed_systems = sorted({d["source_system"] for d in dropped})
    got = [
        (
            r["subscriber_status"],
            r["src_count"],
            r["non_migratable_count"],
            r["trgt_count"],
            r["match_percent"],
            r["status_match"],
            r["migratable_count_status"],
            r["failed_subsets"],
        )
        for r in summary
    ]
    want_rows = []
    for s in sorted(status):
        migratable = status[s] - status_nm[s]
        trgt = migratable - lost[s]
        if migratable == 0 and trgt == 0:
            pct = Decimal("100.00")
        elif migratable == 0 or trgt == 0:
            pct = Decimal("0.00")
        else:
            pct = Decimal(trgt * 10000 // migratable) / 100
        want_rows.append(
            (
                s,
                status[s],
                status_nm[s],
                trgt,
                pct,
                "Match" if trgt == migratable else "Mismatch",
                "Mismatch",
                failed_systems,
            )
        )
    assert got == want_rows
    assert any(r[4] < 100 for r in got) and any(r[4] == 100 for r in got)
    assert sum(r[1] - r[2] - r[3] for r in got) == 2


def test_landing_app_login_rule_matches_postgres(transform: Any) -> None:
    docs = [
        None,
        "{}",
        "[]",
        '{"sso": null}',
        '{"sso": []}',
        '{"sso": {"google": {}}}',
        '{"sso": {"google": {"id": "1"}}}',
        '{"sso": {"Google": {"id": "1"}}}',
        '{"sso": {"apple": [{"id": "1"}]}}',
        '{"sso": {"facebook": {"id": "x"}, "apple": null}}',
        '{"external_operator_number": ""}',
        '{"external_operator_number": "  "}',
        '{"external_operator_number": "62857"}',
        '{"external_operator_number": 62857}',
        '{"sso": "google", "external_operator_number": null}',
        '"text"',
        "3",
    ]
    from recon_operators.migration.formulas import app_login_eligible_sql

    expr = app_login_eligible_sql("postgres", "d")
    with transform, transform.cursor() as cur:
        cur.execute(f"SELECT {expr} FROM unnest(%s::text[]) WITH ORDINALITY AS t(d, i) ORDER BY i", (docs,))
        pg = [r[0] for r in cur.fetchall()]
    assert [app_login_eligible_json(d) for d in docs] == pg
    assert pg.count(True) == 3
    with pytest.raises(json.JSONDecodeError):
        app_login_eligible_json("{not json")


def test_bad_scope_is_refused_before_anything_is_written(
    store: Any, transform: Any, cohort_id: str, tables: dict[str, pa.Table]
) -> None:
    batch = BATCHES[0]
    kwargs = dict(
        run_id="r",
        env=ENV,
        cohort_id=cohort_id,
        prefix_id=PREFIX_ID,
        prefix=PREFIX,
        batch_id="1",
        msisdn_start=batch.msisdn_start,
        msisdn_end=batch.msisdn_end,
        landing=landing(tables, batch),
    )
    with pytest.raises(ValueError, match="not a valid identifier"):
        write_mr1_batch(store, transform, **kwargs, transform_schema='x"; drop table y; --')
    with pytest.raises(ValueError, match="equal-length"):
        write_mr1_batch(store, transform, **{**kwargs, "msisdn_end": "62812"})
    with pytest.raises(ValueError, match="prefix 'P1' must be digits"):
        write_mr1_batch(store, transform, **{**kwargs, "prefix": "P1"})
    with pytest.raises(ValueError, match="landing tables missing"):
        write_mr1_batch(store, transform, **{**kwargs, "landing": {"subscribers": tables["subscribers"]}})
    assert recon_status(store, cohort_id) == []
