"""Mini Recon 1 batch reports on real Postgres: landing tables vs a transformation schema.

Every test uses its own cohort id and its own transformation schema, so tests sharing the
session databases never collide. Expected numbers are recomputed here with plain Python over the
generated rows, independently of the pyarrow/SQL code under test.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from recon_operators.migration import loaders
from recon_operators.migration.formulas import write_prefix_summary
from recon_operators.migration.generator import BatchSpec, CohortSpec, PrefixSpec, generate
from recon_operators.migration.mr1_reports import RESULT_TABLES, app_login_eligible_json, write_mr1_batch

pytestmark = pytest.mark.integration

ENV = "dev"
PREFIX_ID, PREFIX = "P812", "62812"
BATCHES = [BatchSpec("1", "628120000000", "628120000149"), BatchSpec("2", "628120000150", "628120000299")]
DATASETS = ("subscribers", "balances", "app_users")


@pytest.fixture
def cohort_id() -> str:
    return f"C{uuid.uuid4().hex[:10]}"


@pytest.fixture
def tables(cohort_id: str) -> dict[str, pa.Table]:
    spec = CohortSpec(cohort_id, [PrefixSpec(PREFIX_ID, PREFIX, BATCHES)], seed=11, non_migratable_rate=0.1)
    return {name: table for name, table in generate(spec).items() if name in DATASETS}


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

def in_batch(table: pa.Table, batch: BatchSpec) -> pa.Table:
    m = table["msisdn"]
    return table.filter(pc.and_(pc.greater_equal(m, batch.msisdn_start), pc.less_equal(m, batch.msisdn_end)))


def landing(tables: dict[str, pa.Table], batch: BatchSpec) -> dict[str, pa.Table]:
    return {name: in_batch(t, batch) for name, t in tables.items()}


def load_transformation(conn: Any, schema: str, cohort_id: str, tables: dict[str, pa.Table], batch: BatchSpec,
                        *, all_subscribers: bool = False, drop: int = 0) -> list[str]:
    """Write the batch's 'transformation': migratable subscribers (all with all_subscribers), their
    balances and app users; ``drop`` migratable subscribers are left out of ``subscribers`` only."""
    subs = in_batch(tables["subscribers"], batch)
    migrating = subs.filter(subs["migratable"])
    keep = subs if all_subscribers else migrating
    dropped = migrating["msisdn"].to_pylist()[:drop]
    kept_subs = keep.filter(pc.invert(pc.is_in(keep["msisdn"], value_set=pa.array(dropped, pa.string()))))
    members = keep["msisdn"]
    out = [("subscribers", kept_subs)]
    for name in ("balances", "app_users"):
        t = in_batch(tables[name], batch)
        out.append((name, t.filter(pc.is_in(t["msisdn"], value_set=members))))
    loaders._pg_write(conn, schema, out, loaders.BatchRange(batch.batch_id, batch.msisdn_start, batch.msisdn_end),
                      cohort_id, "transform")
    return dropped


def write(store: Any, transform: Any, schema: str, cohort_id: str, tables: dict[str, pa.Table],
          batch: BatchSpec, run_id: str | None = None) -> dict[str, int]:
    return write_mr1_batch(store, transform, run_id=run_id or f"run-{uuid.uuid4().hex[:8]}", env=ENV,
                           cohort_id=cohort_id, prefix_id=PREFIX_ID, prefix=PREFIX, batch_id=batch.batch_id,
                           msisdn_start=batch.msisdn_start, msisdn_end=batch.msisdn_end,
                           landing=landing(tables, batch), transform_schema=schema)


def fetch(store: Any, table: str, cohort_id: str, columns: str, batch_id: str | None = None) -> list[tuple]:
    sql = f"SELECT {columns} FROM mini_recon_1.{table} WHERE cohort_id = %s"
    params: list[Any] = [cohort_id]
    if batch_id is not None:
        sql += " AND batch_id = %s"
        params.append(batch_id)
    with store, store.cursor() as cur:
        cur.execute(sql + " ORDER BY 1, 2", params)
        return cur.fetchall()


def expected(tables: dict[str, pa.Table], batch: BatchSpec) -> dict[str, Any]:
    """Plain-Python recount of the batch (rows as dicts, no pyarrow compute)."""
    subs = in_batch(tables["subscribers"], batch).to_pylist()
    migr = {s["msisdn"] for s in subs if s["migratable"]}
    bal = [b for b in in_batch(tables["balances"], batch).to_pylist() if b["msisdn"] in migr]
    users = [u for u in in_batch(tables["app_users"], batch).to_pylist() if u["msisdn"] in migr]
    return {
        "status": Counter(s["subscriber_status"] for s in subs),
        "status_nm": Counter(s["subscriber_status"] for s in subs if not s["migratable"]),
        "system": Counter(s["source_system"] for s in subs if s["migratable"]),
        "reason": Counter(s["non_migratable_reason"] for s in subs if not s["migratable"]),
        "pulsa": sum((b["pulsa_balance"] for b in bal), Decimal(0)),
        "ucoin_holders": sum(1 for b in bal if b["ucoin_balance"] > 0),
        "ucoin": sum(b["ucoin_balance"] for b in bal if b["ucoin_balance"] > 0),
        "app_login": sum(1 for u in users if app_login_eligible_json(u["sso_connections"])),
        "migratable": len(migr),
        "subscribers": len(subs),
    }


def recon_status(store: Any, cohort_id: str) -> list[tuple]:
    with store, store.cursor() as cur:
        cur.execute("SELECT batch_id, recon_number, active_status, msisdn_start, msisdn_end, prefix_summary_status"
                    " FROM mini_recon_1.recon_status WHERE cohort_id = %s ORDER BY batch_id", (cohort_id,))
        return cur.fetchall()


# ---------------------------------------------------------------------------------- tests

def test_generated_batch_has_what_the_checks_need(tables: dict[str, pa.Table]) -> None:
    want = expected(tables, BATCHES[0])
    assert want["subscribers"] == 150
    assert 0 < want["migratable"] < 150  # some non-migratable subscribers
    assert len(want["system"]) == 2 and want["ucoin_holders"] > 0 and want["app_login"] > 0


def test_matching_transformation_passes_every_row(store: Any, transform: Any, schema: str, cohort_id: str,
                                                  tables: dict[str, pa.Table]) -> None:
    batch = BATCHES[0]
    load_transformation(transform, schema, cohort_id, tables, batch)
    want = expected(tables, batch)
    written = write(store, transform, schema, cohort_id, tables, batch)
    assert written == {
        "tbl_migratable_subscriber_status": len(want["status"]),
        "tbl_migratable_msisdn_count": len(want["system"]),
        "tbl_non_migratable_count": len(want["reason"]),
        "tbl_pulsa_balance_sum": 1, "tbl_ucoin_balance_count": 1, "tbl_user_app_login_count": 1,
        "recon_status": 1,
    }
    rows = fetch(store, "tbl_migratable_subscriber_status", cohort_id,
                 "subscriber_status, src_count, non_migratable_count, trgt_count, difference, status, subset,"
                 " prefix_id, prefix, batch_id, msisdn_start, msisdn_end, env")
    assert rows == [(s, want["status"][s], want["status_nm"][s], want["status"][s] - want["status_nm"][s], 0,
                     "Passed", "subscriber_status", PREFIX_ID, PREFIX, "1", batch.msisdn_start, batch.msisdn_end,
                     ENV) for s in sorted(want["status"])]
    assert fetch(store, "tbl_migratable_msisdn_count", cohort_id,
                 "subset, source_system, source_system_count, target_transform_count, difference, status") == [
        (s, s, n, n, 0, "Passed") for s, n in sorted(want["system"].items())]
    assert fetch(store, "tbl_non_migratable_count", cohort_id,
                 "non_migratable_reason, non_migratable_count, src_count, trgt_count, difference, status") == [
        (r, n, n, 0, 0, "Passed") for r, n in sorted(want["reason"].items())]
    assert fetch(store, "tbl_pulsa_balance_sum", cohort_id, "subset, src_sum, trgt_sum, difference, status") == [
        ("pulsa_balance", want["pulsa"], want["pulsa"], Decimal("0.0000"), "Passed")]
    assert want["pulsa"] != want["pulsa"].to_integral_value()  # real cents, compared exactly
    assert fetch(store, "tbl_ucoin_balance_count", cohort_id,
                 "subset, src_count, trgt_count, difference, src_balance, trgt_balance, status") == [
        ("ucoin_balance", want["ucoin_holders"], want["ucoin_holders"], 0, Decimal(want["ucoin"]),
         Decimal(want["ucoin"]), "Passed")]
    assert fetch(store, "tbl_user_app_login_count", cohort_id, "subset, src_count, trgt_count, difference, status") == [
        ("app_login", want["app_login"], want["app_login"], 0, "Passed")]
    assert recon_status(store, cohort_id) == [("1", "recon_01", "Passed", batch.msisdn_start, batch.msisdn_end, None)]


def test_all_subscribers_in_transformation_fail_by_the_non_migratable_share(
        store: Any, transform: Any, schema: str, cohort_id: str, tables: dict[str, pa.Table]) -> None:
    batch = BATCHES[0]
    load_transformation(transform, schema, cohort_id, tables, batch, all_subscribers=True)
    want = expected(tables, batch)
    write(store, transform, schema, cohort_id, tables, batch)
    rows = fetch(store, "tbl_migratable_subscriber_status", cohort_id,
                 "subscriber_status, src_count, non_migratable_count, trgt_count, difference, status")
    assert rows == [(s, n, want["status_nm"][s], n, -want["status_nm"][s],
                     "Failed" if want["status_nm"][s] else "Passed") for s, n in sorted(want["status"].items())]
    assert any(r[-1] == "Failed" for r in rows)
    all_by_system = Counter(s["source_system"] for s in in_batch(tables["subscribers"], batch).to_pylist())
    assert fetch(store, "tbl_migratable_msisdn_count", cohort_id,
                 "source_system, source_system_count, target_transform_count, difference") == [
        (s, n, all_by_system[s], n - all_by_system[s]) for s, n in sorted(want["system"].items())]
    assert fetch(store, "tbl_non_migratable_count", cohort_id, "non_migratable_reason, trgt_count, difference, status") == [
        (r, n, n, "Failed") for r, n in sorted(want["reason"].items())]
    assert recon_status(store, cohort_id)[0][2] == "Failed"


def test_two_missing_subscribers_fail_with_the_exact_difference(
        store: Any, transform: Any, schema: str, cohort_id: str, tables: dict[str, pa.Table]) -> None:
    batch = BATCHES[1]
    dropped = load_transformation(transform, schema, cohort_id, tables, batch, drop=2)
    assert len(dropped) == 2
    subs = {s["msisdn"]: s for s in in_batch(tables["subscribers"], batch).to_pylist()}
    lost_status = Counter(subs[m]["subscriber_status"] for m in dropped)
    lost_system = Counter(subs[m]["source_system"] for m in dropped)
    want = expected(tables, batch)
    write(store, transform, schema, cohort_id, tables, batch)
    rows = fetch(store, "tbl_migratable_subscriber_status", cohort_id, "subscriber_status, trgt_count, difference, status")
    assert rows == [(s, n - want["status_nm"][s] - lost_status[s], lost_status[s],
                     "Failed" if lost_status[s] else "Passed") for s, n in sorted(want["status"].items())]
    assert sum(r[2] for r in rows) == 2
    assert fetch(store, "tbl_migratable_msisdn_count", cohort_id, "source_system, target_transform_count, difference, status") == [
        (s, n - lost_system[s], lost_system[s], "Failed" if lost_system[s] else "Passed")
        for s, n in sorted(want["system"].items())]
    # Balances and app users were left whole: those checks still pass.
    for table in ("tbl_pulsa_balance_sum", "tbl_ucoin_balance_count", "tbl_user_app_login_count"):
        assert [r[1] for r in fetch(store, table, cohort_id, "subset, status")] == ["Passed"], table
    assert recon_status(store, cohort_id) == [("2", "recon_01", "Failed", batch.msisdn_start, batch.msisdn_end, None)]


def test_rerun_replaces_only_its_batch(store: Any, transform: Any, schema: str, cohort_id: str,
                                       tables: dict[str, pa.Table]) -> None:
    for batch in BATCHES:
        load_transformation(transform, schema, cohort_id, tables, batch)
        write(store, transform, schema, cohort_id, tables, batch, run_id="run-first")
    before = {t: fetch(store, t, cohort_id, "batch_id, id, run_id", "2") for t in RESULT_TABLES}
    with store, store.cursor() as cur:  # the prefix trigger marked the summary started
        cur.execute("UPDATE mini_recon_1.recon_status SET prefix_summary_status = 'Started' WHERE cohort_id = %s",
                    (cohort_id,))
    load_transformation(transform, schema, cohort_id, tables, BATCHES[0], drop=2)
    write(store, transform, schema, cohort_id, tables, BATCHES[0], run_id="run-second")
    for table in RESULT_TABLES:
        assert fetch(store, table, cohort_id, "batch_id, id, run_id", "2") == before[table], table
        first = fetch(store, table, cohort_id, "batch_id, run_id", "1")
        assert first and {r[1] for r in first} == {"run-second"}, table
    with store, store.cursor() as cur:
        cur.execute("SELECT batch_id, count(*) FROM mini_recon_1.tbl_migratable_subscriber_status"
                    " WHERE cohort_id = %s GROUP BY 1 ORDER BY 1", (cohort_id,))
        counts = cur.fetchall()
    assert counts == [("1", len(expected(tables, BATCHES[0])["status"])),
                      ("2", len(expected(tables, BATCHES[1])["status"]))]
    statuses = recon_status(store, cohort_id)
    assert [(r[0], r[2], r[5]) for r in statuses] == [("1", "Failed", None), ("2", "Passed", "Started")]


def test_prefix_summary_over_two_written_batches(store: Any, transform: Any, schema: str, cohort_id: str,
                                                 tables: dict[str, pa.Table]) -> None:
    load_transformation(transform, schema, cohort_id, tables, BATCHES[0])
    load_transformation(transform, schema, cohort_id, tables, BATCHES[1], drop=2)
    dropped_sub = in_batch(tables["subscribers"], BATCHES[1])
    dropped = dropped_sub.filter(dropped_sub["migratable"]).slice(0, 2).to_pylist()
    for batch in BATCHES:
        write(store, transform, schema, cohort_id, tables, batch)
    w1, w2 = expected(tables, BATCHES[0]), expected(tables, BATCHES[1])
    status, status_nm = w1["status"] + w2["status"], w1["status_nm"] + w2["status_nm"]
    lost = Counter(d["subscriber_status"] for d in dropped)
    summary = write_prefix_summary(store, run_id="sum-1", env=ENV, cohort_id=cohort_id,
                                   prefix_id=PREFIX_ID, prefix=PREFIX)
    failed_systems = sorted({d["source_system"] for d in dropped})
    got = [(r["subscriber_status"], r["src_count"], r["non_migratable_count"], r["trgt_count"], r["match_percent"],
            r["status_match"], r["migratable_count_status"], r["failed_subsets"]) for r in summary]
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
        want_rows.append((s, status[s], status_nm[s], trgt, pct, "Match" if trgt == migratable else "Mismatch",
                          "Mismatch", failed_systems))
    assert got == want_rows
    assert any(r[4] < 100 for r in got) and any(r[4] == 100 for r in got)
    assert sum(r[1] - r[2] - r[3] for r in got) == 2


def test_landing_app_login_rule_matches_postgres(transform: Any) -> None:
    docs = [None, "{}", "[]", '{"sso": null}', '{"sso": []}', '{"sso": {"google": {}}}',
            '{"sso": {"google": {"id": "1"}}}', '{"sso": {"Google": {"id": "1"}}}',
            '{"sso": {"apple": [{"id": "1"}]}}', '{"sso": {"facebook": {"id": "x"}, "apple": null}}',
            '{"external_operator_number": ""}', '{"external_operator_number": "  "}',
            '{"external_operator_number": "62857"}', '{"external_operator_number": 62857}',
            '{"sso": "google", "external_operator_number": null}', '"text"', "3"]
    from recon_operators.migration.formulas import app_login_eligible_sql
    expr = app_login_eligible_sql("postgres", "d")
    with transform, transform.cursor() as cur:
        cur.execute(f"SELECT {expr} FROM unnest(%s::text[]) WITH ORDINALITY AS t(d, i) ORDER BY i", (docs,))
        pg = [r[0] for r in cur.fetchall()]
    assert [app_login_eligible_json(d) for d in docs] == pg
    assert pg.count(True) == 3
    with pytest.raises(json.JSONDecodeError):
        app_login_eligible_json("{not json")


def test_bad_scope_is_refused_before_anything_is_written(store: Any, transform: Any, cohort_id: str,
                                                         tables: dict[str, pa.Table]) -> None:
    batch = BATCHES[0]
    kwargs = dict(run_id="r", env=ENV, cohort_id=cohort_id, prefix_id=PREFIX_ID, prefix=PREFIX, batch_id="1",
                  msisdn_start=batch.msisdn_start, msisdn_end=batch.msisdn_end, landing=landing(tables, batch))
    with pytest.raises(ValueError, match="not a valid identifier"):
        write_mr1_batch(store, transform, **kwargs, transform_schema='x"; drop table y; --')
    with pytest.raises(ValueError, match="equal-length"):
        write_mr1_batch(store, transform, **{**kwargs, "msisdn_end": "62812"})
    with pytest.raises(ValueError, match="landing tables missing"):
        write_mr1_batch(store, transform, **{**kwargs, "landing": {"subscribers": tables["subscribers"]}})
    assert recon_status(store, cohort_id) == []
