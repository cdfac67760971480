"""Mini Recon 3 (data prep, BRM, prefix summaries), the overall summary and the ETL stage report on
real Postgres + MariaDB (and mongomock for a Mongo stage), data loaded by the project's loaders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import mongomock
import pytest
import yaml

from recon_operators.demo.faults import Fault
from recon_operators.demo.generator import PrefixSpec
from recon_operators.migration.etl_stage_report import NOT_DEPLOYED, etl_results, write_etl_stage_report
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.layer_measure import measure
from recon_operators.migration.mr3_reports import (
    brm_results,
    data_prep_results,
    summary_results,
    write_data_prep,
    write_data_prep_brm,
    write_prefix_summary,
)
from recon_operators.migration.overall_report import PrefixBatches, overall_results, write_overall_summary
from recon_operators.migration.report_config import ReportConfigError, Side, load_brm, load_matrix, load_measures
from recon_operators.migration.report_sql import ReportScope
from tests.integration.report_world import ENV, PREFIXES, World, fetch, make_world

pytestmark = pytest.mark.integration

P811, P812 = PREFIXES


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def batches_of(prefix: PrefixSpec) -> tuple[BatchRange, ...]:
    return tuple(prefix.batches)


def all_prefixes() -> list[PrefixBatches]:
    return [PrefixBatches(p.prefix_id, p.prefix, batches_of(p)) for p in PREFIXES]


def data_prep_all(world: World, store: Any, *, brm: bool = False) -> None:
    for prefix, batch in world.batches():
        if brm:
            write_data_prep_brm(store, world.layers(), load_brm(), world.scope(prefix, batch))
        else:
            write_data_prep(store, world.layers(), load_matrix(), world.scope(prefix, batch))


# ------------------------------------------------------------------------------ Mini Recon 3


def test_clean_data_prep_and_prefix_summaries_match(world: World, store_conn: Any) -> None:
    world.load()
    data_prep_all(world, store_conn)
    data_prep_all(world, store_conn, brm=True)
    rows = fetch(
        store_conn,
        "SELECT service, table_name, stage_count, target_count, status FROM "
        "mini_recon_3.tbl_data_prep WHERE cohort_id = %s AND batch_id = 'B1' AND prefix_id = %s",
        (world.cohort_id, P811.prefix_id),
    )
    deployed = [e for e in load_matrix() if e.deployed]
    assert len(rows) == len(deployed) and all(r[4] == "Passed" for r in rows)
    results = data_prep_results(
        write_data_prep(store_conn, world.layers(), load_matrix(), world.scope(P811, P811.batches[0]))
    )
    assert len(results) == len(deployed) and all(r.passed for r in results)
    payments = {(r[0], r[1]): r[2] for r in rows}[("Payment", "transactions")]
    assert payments == world.migratable("payments", P811.batches[0]).num_rows > 0
    for brm in (False, True):
        summary = write_prefix_summary(store_conn, world.scope(P811), brm=brm)
        assert (summary["status_match"], summary["match_percent"], summary["failed_checks"]) == (
            "Match",
            Decimal("100.00"),
            0,
        )
        assert summary_results(summary, brm=brm)[0].passed
    brm_rows = fetch(
        store_conn,
        "SELECT brm_count, target_count, brm_balance_sum, target_balance_sum, status "
        "FROM mini_recon_3.tbl_data_prep_brm WHERE cohort_id = %s AND prefix_id = %s "
        "AND batch_id = 'B1'",
        (world.cohort_id, P811.prefix_id),
    )
    landed = world.migratable("brm_balances", P811.batches[0]).to_pylist()
    assert brm_rows == [
        (
            len(landed),
            len(landed),
            sum((r["balance"] for r in landed), Decimal(0)),
            sum((r["balance"] for r in landed), Decimal(0)),
            "Passed",
        )
    ]


def test_drift_at_target_fails_brm_and_drop_at_target_fails_data_prep(world: World, store_conn: Any) -> None:
    faults = Fault.from_conf(
        [
            {
                "stage": "target",
                "kind": "drift",
                "dataset": "balances",
                "column": "pulsa_balance",
                "delta": "0.01",
                "n": 1,
            },
            {"stage": "target", "kind": "drop", "dataset": "inventory", "n": 1},
        ]
    )
    world.load(faults=faults)
    data_prep_all(world, store_conn)
    data_prep_all(world, store_conn, brm=True)
    prep = write_prefix_summary(store_conn, world.scope(P811))
    brm = write_prefix_summary(store_conn, world.scope(P811), brm=True)
    assert (prep["status_match"], prep["failed_checks"], list(prep["failed_subsets"])) == (
        "Mismatch",
        1,
        ["Inventory.unit"],
    )
    stage_rows = sum(
        r[0]
        for r in fetch(
            store_conn,
            "SELECT sum(stage_count) FROM mini_recon_3.tbl_data_prep WHERE cohort_id = %s AND prefix_id = %s",
            (world.cohort_id, P811.prefix_id),
        )
    )
    assert prep["match_percent"] == Decimal(int((stage_rows - 2) * 10000 // stage_rows)) / 100  # 2 batches, 1 drop each
    # Drift keeps the account count: only the balance totals differ, so BRM fails at 100.00 percent.
    assert (brm["status_match"], brm["failed_checks"], brm["match_percent"]) == ("Mismatch", 1, Decimal("100.00"))
    rows = fetch(
        store_conn,
        "SELECT target_balance_sum - brm_balance_sum FROM mini_recon_3.tbl_data_prep_brm "
        "WHERE cohort_id = %s AND prefix_id = %s ORDER BY batch_id",
        (world.cohort_id, P811.prefix_id),
    )
    assert [r[0] for r in rows] == [Decimal("0.01"), Decimal("0.01")]
    failed = [
        r.check_name
        for r in brm_results(
            write_data_prep_brm(store_conn, world.layers(), load_brm(), world.scope(P811, P811.batches[0]))
        )
        if not r.passed
    ]
    assert failed == ["data_prep_brm:brm_balances:balance"]


def test_empty_prefix_summary_and_zero_formulas(store_conn: Any) -> None:
    cohort = f"C{uuid.uuid4().hex[:8]}"
    scope = ReportScope("run-empty", ENV, cohort, "P000", "62800")
    for brm in (False, True):
        row = write_prefix_summary(store_conn, scope, brm=brm)
        assert (row["total_checks"], row["match_percent"], row["status_match"]) == (0, Decimal("100.00"), "Match")
    # Zeros: a table with 0 at stage and 3 at target is 0.00 and a Mismatch; 2 of 3 is 66.66.
    with store_conn, store_conn.cursor() as cur:
        for batch, (stage, target) in {"B1": (0, 3), "B2": (3, 2)}.items():
            cur.execute(
                "INSERT INTO mini_recon_3.tbl_data_prep (run_id, env, cohort_id, prefix_id, prefix, batch_id, "
                "service, table_name, stage_store, stage_count, target_count, difference, status) VALUES "
                "('r', %s, %s, 'P000', '62800', %s, 'S', %s, 'mariadb', %s, %s, %s, %s)",
                (
                    ENV,
                    cohort,
                    batch,
                    f"t{batch}",
                    stage,
                    target,
                    stage - target,
                    "Passed" if stage == target else "Failed",
                ),
            )
    row = write_prefix_summary(store_conn, scope)
    assert (row["match_percent"], row["status_match"], list(row["failed_subsets"])) == (
        Decimal("166.66"),
        "Mismatch",
        ["S.tB1", "S.tB2"],
    )
    with store_conn, store_conn.cursor() as cur:
        cur.execute("DELETE FROM mini_recon_3.tbl_data_prep WHERE cohort_id = %s AND batch_id = 'B2'", (cohort,))
    assert write_prefix_summary(store_conn, scope)["match_percent"] == Decimal("0.00")


def test_prefix_summary_rerun_keeps_one_row(world: World, store_conn: Any) -> None:
    world.load()
    data_prep_all(world, store_conn)
    data_prep_all(world, store_conn)  # rerun of every batch
    for _ in range(2):
        write_prefix_summary(store_conn, world.scope(P812))
    counts = fetch(
        store_conn,
        "SELECT (SELECT count(*) FROM mini_recon_3.tbl_prefix_summary WHERE cohort_id = %s), "
        "(SELECT count(*) FROM mini_recon_3.tbl_data_prep WHERE cohort_id = %s)",
        (world.cohort_id, world.cohort_id),
    )
    assert counts == [(1, 3 * len([e for e in load_matrix() if e.deployed]))]


# ---------------------------------------------------------------------------- overall summary


def test_overall_summary_clean_and_rerun(world: World, store_conn: Any) -> None:
    world.load()
    kwargs = {"env": ENV, "cohort_id": world.cohort_id, "prefixes": all_prefixes()}
    rows = write_overall_summary(store_conn, world.layers(), load_measures(), run_id="r1", **kwargs)
    assert rows and [r for r in rows if not r.passed] == []
    assert all(r.passed for r in overall_results(rows))
    stored = fetch(
        store_conn,
        "SELECT prefix_id, service, subset, source_count, transform_count, stage_count, "
        "target_count, source_target_difference, status_match FROM "
        "recon_report.tbl_recon_report_overall_summary WHERE cohort_id = %s",
        (world.cohort_id,),
    )
    service_accounts = {r[0]: r[3] for r in stored if r[2] == "service_account"}
    assert service_accounts == {p.prefix_id: sum(b.size for b in p.batches) for p in PREFIXES}
    assert all(r[3] == r[4] == r[5] == r[6] and r[7] == 0 and r[8] == "Match" for r in stored)
    again = write_overall_summary(store_conn, world.layers(), load_measures(), run_id="r2", **kwargs)
    assert (
        len(again)
        == len(rows)
        == fetch(
            store_conn,
            "SELECT count(*) FROM recon_report.tbl_recon_report_overall_summary WHERE cohort_id = %s",
            (world.cohort_id,),
        )[0][0]
    )


def test_overall_summary_counts_only_migratable_source_rows(tmp_path: Path, store_conn: Any) -> None:
    """Source side: non-migratable subscribers and their child rows are not expected downstream."""
    for world in make_world(tmp_path, non_migratable_rate=0.2):
        layers = world.layers()
        batch = P811.batches[0]
        subs = world.tables["subscribers"].to_pylist()
        keep = [s for s in subs if s["migratable"] and batch.msisdn_start <= s["msisdn"] <= batch.msisdn_end]
        in_batch = [s for s in subs if batch.msisdn_start <= s["msisdn"] <= batch.msisdn_end]
        assert 0 < len(keep) < len(in_batch)
        side = Side("landing", "subscribers", distinct="msisdn")
        got = measure(
            layers,
            "source",
            side,
            cohort_id=world.cohort_id,
            batch=batch,
        )
        assert got == {None: (len(keep), None)}
        wanted = {s["msisdn"] for s in keep}
        payments = [p for p in world.tables["payments"].to_pylist() if p["msisdn"] in wanted]
        side = Side("landing", "payments", distinct="payment_id", sum="amount")
        got = measure(
            layers,
            "source",
            side,
            cohort_id=world.cohort_id,
            batch=batch,
        )
        assert got == {None: (len(payments), sum((p["amount"] for p in payments), Decimal(0)))}


def test_overall_summary_finds_a_stage_drop(world: World, store_conn: Any) -> None:
    world.load(faults=Fault.from_conf([{"stage": "stage", "kind": "drop", "dataset": "subscribers", "n": 1}]))
    rows = write_overall_summary(
        store_conn,
        world.layers(),
        load_measures(),
        run_id="r",
        env=ENV,
        cohort_id=world.cohort_id,
        prefixes=all_prefixes(),
    )
    failed = {(r.prefix_id, r.subset): (r.counts["source"] - r.counts["target"]) for r in rows if not r.passed}
    assert failed[("P811", "service_account")] == 2 and failed[("P812", "service_account")] == 1
    assert {k[1] for k in failed} >= {"service_account"}
    assert all(r.counts["transform"] == r.counts["source"] for r in rows)


# --------------------------------------------------------------------------- ETL stage report


def test_etl_stage_report_counts_layers_and_reports_not_deployed(world: World, store_conn: Any) -> None:
    world.load(faults=Fault.from_conf([{"stage": "target", "kind": "drop", "dataset": "wallet_ledger", "n": 1}]))
    batches = [b for p in PREFIXES for b in batches_of(p)]
    rows = write_etl_stage_report(
        store_conn, world.layers(), load_matrix(), run_id="r", env=ENV, cohort_id=world.cohort_id, batches=batches
    )
    stored = {
        (r[0], r[1]): r[2:]
        for r in fetch(
            store_conn,
            "SELECT service, table_name, layer_pair, transform_count, stage_count, target_count, "
            "transform_stage_difference, stage_target_difference, status FROM "
            "recon_report.tbl_recon_etl_stage_report WHERE cohort_id = %s",
            (world.cohort_id,),
        )
    }
    assert len(stored) == len(load_matrix())
    assert stored[("KYC", "kyc_application")] == (NOT_DEPLOYED, None, None, None, None, None, None)
    ledger = world.tables["wallet_ledger"].num_rows
    assert stored[("Wallet", "ledger")][1:] == (ledger, ledger, ledger - 3, 0, 3, "Mismatch")
    assert stored[("Telco", "service_account")][1:] == (340, 340, 340, 0, 0, "Match")
    assert {k for k, v in stored.items() if v[-1] == "Mismatch"} == {("Wallet", "ledger")}
    assert [r.check_name for r in etl_results(rows) if not r.passed] == ["etl:Wallet.ledger"]
    matrix = fetch(
        store_conn,
        "SELECT stage_store, stage_table, target_table FROM recon_report.etl_stage_table_matrix "
        "WHERE service = 'Wallet' AND table_name = 'ledger'",
    )
    assert matrix == [("mariadb", "wallet_ledger", "target.wallet_ledger")]
    write_etl_stage_report(
        store_conn, world.layers(), load_matrix(), run_id="r2", env=ENV, cohort_id=world.cohort_id, batches=batches
    )
    assert fetch(
        store_conn,
        "SELECT count(*), count(DISTINCT run_id) FROM recon_report.tbl_recon_etl_stage_report WHERE cohort_id = %s",
        (world.cohort_id,),
    ) == [(len(load_matrix()), 1)]


def test_etl_stage_report_with_a_mongo_stage(world: World, store_conn: Any, tmp_path: Path) -> None:
    world.load(hops=("transform", "stage", "target"))
    database = mongomock.MongoClient()["stage"]
    wallets = world.tables["wallets"].to_pylist()
    database["wallets"].insert_many(
        [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in w.items()} for w in wallets[:-1]]
    )
    path = tmp_path / "matrix.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "tables": [
                    {
                        "service": "Wallet",
                        "table": "wallets",
                        "transform": "transform.wallets",
                        "stage": {"store": "mongodb", "collection": "wallets"},
                        "target": "target.wallets",
                    },
                    {"service": "KYC", "table": "kyc_application", "deployed": False},
                ]
            }
        )
    )
    rows = write_etl_stage_report(
        store_conn,
        world.layers(stage_mongo=database),
        load_matrix(path),
        run_id="r",
        env=ENV,
        cohort_id=world.cohort_id,
        batches=[b for p in PREFIXES for b in batches_of(p)],
    )
    assert rows[0].counts == {"transform": len(wallets), "stage": len(wallets) - 1, "target": len(wallets)}
    assert (rows[0].status, rows[1].status) == ("Mismatch", None)


@pytest.mark.parametrize(
    "text, message",
    [
        ("tables: []", "tables: must hold at least 1 item(s)"),
        ("tables: [{service: X, table: t, deployed: false, target: target.t}]", "a table marked deployed: false"),
        (
            "tables: [{service: X, table: t, transform: a.b, stage: {store: mongodb}, target: c.d}]",
            "tables[0].stage.collection",
        ),
        ("tables: [{service: X, table: t, transform: 'a.b.c.d', stage: s, target: c.d}]", "tables[0].transform.table"),
        ("tables: [oops", "malformed YAML"),
    ],
)
def test_bad_matrix_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    with pytest.raises(ReportConfigError) as caught:
        load_matrix(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
