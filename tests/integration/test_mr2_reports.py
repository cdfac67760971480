"""Mini Recon 2 batch reports on real Postgres + MariaDB (and a mongomock stage), data loaded by
the project's loaders. Expected numbers are recounted here from the generated rows in plain Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import mongomock
import pytest
import yaml

from recon_operators.demo.faults import Fault
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.mr1_reports import app_login_eligible_json
from recon_operators.migration.mr2_reports import check_results, write_mr2_batch
from recon_operators.migration.report_config import ReportConfigError, load_measures
from tests.integration.report_world import PREFIXES, World, fetch, make_world

pytestmark = pytest.mark.integration

TABLES = (
    "tbl_transformed_msisdn",
    "tbl_status_comparison",
    "tbl_plan_validation",
    "tbl_app_login",
    "tbl_addon_validation",
    "tbl_pulsa_balance",
    "tbl_subscriber_promotion",
    "tbl_payment_sub_count",
)
P811, B1 = PREFIXES[0], PREFIXES[0].batches[0]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


def rows_of(store: Any, name: str, cohort_id: str, batch_id: str = "B1") -> dict[tuple[str, str], tuple]:
    got = fetch(
        store,
        f"SELECT service, subset, transform_count, stage_count, difference, subset_status "
        f"FROM mini_recon_2.{name} WHERE cohort_id = %s AND prefix_id = %s AND batch_id = %s",
        (cohort_id, P811.prefix_id, batch_id),
    )
    return {(r[0], r[1]): r[2:] for r in got}


def failed_groups(rows: dict[tuple[str, str], tuple]) -> set[tuple[str, str]]:
    return {k for k, v in rows.items() if v[-1] == "Failed"}


def summary_of(store: Any, cohort_id: str) -> dict[str, tuple]:
    got = fetch(
        store,
        "SELECT service, total_subsets, failed_subsets, status FROM mini_recon_2.tbl_recon_2_summary "
        "WHERE cohort_id = %s AND prefix_id = %s AND batch_id = 'B1'",
        (cohort_id, P811.prefix_id),
    )
    return {r[0]: r[1:] for r in got}


def test_clean_batch_every_table_passes_with_independent_counts(world: World, store_conn: Any) -> None:
    world.load(hops=("transform", "stage"))
    result = write_mr2_batch(store_conn, world.layers(), load_measures(), world.scope(P811, B1))
    assert set(result["summary"].values()) == {"Passed"}
    assert all(result["written"][t] > 0 for t in TABLES)

    subs = world.migratable("subscribers", B1).to_pylist()
    status = rows_of(store_conn, "tbl_status_comparison", world.cohort_id)
    assert {k[1]: v[0] for k, v in status.items()} == {
        f"subscriber_status={s}": n for s, n in Counter(r["subscriber_status"] for r in subs).items()
    }
    assert all(v[3] == "Passed" and v[0] == v[1] for v in status.values())
    users = world.migratable("app_users", B1).to_pylist()
    eligible = len({u["msisdn"] for u in users if app_login_eligible_json(u["sso_connections"])})
    assert 0 < eligible < len(users)
    assert rows_of(store_conn, "tbl_app_login", world.cohort_id) == {
        ("User", "app_login"): (eligible, eligible, 0, "Passed")
    }
    balances = world.migratable("balances", B1).to_pylist()
    pulsa = fetch(
        store_conn,
        "SELECT transform_sum, stage_sum, subset_status FROM mini_recon_2.tbl_pulsa_balance WHERE cohort_id = %s",
        (world.cohort_id,),
    )
    total = sum((b["pulsa_balance"] for b in balances), Decimal(0))
    assert pulsa == [(total, total, "Passed")]
    payments = rows_of(store_conn, "tbl_payment_sub_count", world.cohort_id)
    assert sum(v[0] for v in payments.values()) == world.migratable("payments", B1).num_rows
    results = check_results(result["rows"], "transform", "stage")
    assert results and all(r.passed for r in results)


def test_drop_at_stage_fails_only_the_touched_subsets(world: World, store_conn: Any) -> None:
    # A load fault applies per batch load: every batch loses 2 payments at stage.
    world.load(
        faults=Fault.from_conf([{"stage": "stage", "kind": "drop", "dataset": "payments", "n": 2}]),
        hops=("transform", "stage"),
    )
    result = write_mr2_batch(store_conn, world.layers(), load_measures(), world.scope(P811, B1))
    payments = rows_of(store_conn, "tbl_payment_sub_count", world.cohort_id)
    assert sum(v[2] for v in payments.values()) == 2
    assert {k for k, v in payments.items() if v[3] == "Failed"} == {k for k, v in payments.items() if v[2] != 0}
    assert result["summary"]["Payment"] == "Failed"
    assert {s for s, st in result["summary"].items() if st == "Failed"} == {"Payment"}
    assert summary_of(store_conn, world.cohort_id)["Payment"][1:] == (len(failed_groups(payments)), "Failed")
    for name in TABLES:
        if name != "tbl_payment_sub_count":
            assert all(v[-1] == "Passed" for v in rows_of(store_conn, name, world.cohort_id).values()), name
    failed = [r for r in check_results(result["rows"], "transform", "stage") if not r.passed]
    assert failed and {r.check_name for r in failed} == {"payment_sub_count:Payment"}
    assert sum(r.discrepancy for r in failed) == -2


def test_rerun_replaces_its_batch_rows_only(world: World, store_conn: Any) -> None:
    world.load(hops=("transform", "stage"))
    measures = load_measures()
    write_mr2_batch(store_conn, world.layers(), measures, world.scope(P811, P811.batches[1]))
    first = write_mr2_batch(store_conn, world.layers(), measures, world.scope(P811, B1))
    again = write_mr2_batch(store_conn, world.layers(), measures, world.scope(P811, B1, run_id="rerun"))
    assert first["written"] == again["written"]
    counts = fetch(
        store_conn,
        "SELECT batch_id, count(*), count(DISTINCT run_id) FROM mini_recon_2.tbl_status_comparison "
        "WHERE cohort_id = %s GROUP BY batch_id ORDER BY 1",
        (world.cohort_id,),
    )
    n = first["written"]["tbl_status_comparison"]
    assert counts[0] == ("B1", n, 1) and counts[1][0] == "B2" and counts[1][1] > 0
    assert summary_of(store_conn, world.cohort_id).keys() == first["summary"].keys()


def test_mongo_stage_through_mongomock(world: World, store_conn: Any, tmp_path: Path) -> None:
    """Stage in Mongo: app users as documents with the user JSON as a subdocument."""
    import json

    world.load(hops=("transform",))
    users = world.migratable("app_users", B1).to_pylist()
    database = mongomock.MongoClient()["stage"]
    database["users"].insert_many(
        [
            {"msisdn": u["msisdn"], "user_id": u["user_id"], "profile": json.loads(u["sso_connections"])}
            for u in users[1:]
        ]
    )
    config = tmp_path / "mr2_mongo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "stage_store": "mongodb",
                "measures": [
                    {
                        "report": "transformed_msisdn",
                        "service": "User",
                        "subset": "users",
                        "distinct": "msisdn",
                        "transform": "transform.app_users",
                        "stage": "users",
                    },
                    {
                        "report": "app_login",
                        "service": "User",
                        "subset": "app_login",
                        "rule": "app_login",
                        "distinct": "msisdn",
                        "transform": {"table": "transform.app_users", "json_column": "sso_connections"},
                        "stage": {"collection": "users", "json_column": "profile"},
                    },
                ],
            }
        )
    )
    result = write_mr2_batch(
        store_conn, world.layers(stage_mongo=database), load_measures(config), world.scope(P811, B1)
    )
    rows = {r.subset: r for r in result["rows"]}
    assert (rows["users"].upstream_count, rows["users"].downstream_count) == (len(users), len(users) - 1)
    eligible = sum(app_login_eligible_json(u["sso_connections"]) for u in users)
    dropped = int(app_login_eligible_json(users[0]["sso_connections"]))
    assert (rows["app_login"].upstream_count, rows["app_login"].downstream_count) == (eligible, eligible - dropped)
    assert result["summary"] == {"User": "Failed"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"report": "nope"}, "measures[0].report: must be one of"),
        ({"stage": {"store": "oracle", "table": "x"}}, "measures[0].stage.store: must be one of"),
        ({"transform": "transform.subscribers; DROP TABLE x"}, "measures[0].transform.table"),
        ({"colour": "red"}, "measures[0].colour: unknown key (allowed here: "),
        ({"filter": {"plan": [1.5]}}, "filter.plan: values must be"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    measure = {
        "report": "transformed_msisdn",
        "service": "Telco",
        "subset": "s",
        "distinct": "msisdn",
        "transform": "transform.subscribers",
        "stage": "subscribers",
        **change,
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"measures": [measure]}))
    with pytest.raises(ReportConfigError) as caught:
        load_measures(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path} line ")


def test_missing_stage_table_is_one_line_and_writes_nothing(world: World, store_conn: Any) -> None:
    world.load(hops=("transform",))  # nothing at stage
    with pytest.raises(Exception) as caught:
        write_mr2_batch(store_conn, world.layers(), load_measures(), world.scope(P811, B1))
    assert "stage mariadb subscribers" in str(caught.value) and "\n" not in str(caught.value)
    assert summary_of(store_conn, world.cohort_id) == {}


def test_empty_batch_counts_zero_and_passes(world: World, store_conn: Any) -> None:
    world.load(hops=("transform", "stage"))
    empty = BatchRange("B9", "628119990000", "628119990009")  # inside the prefix, no subscribers
    result = write_mr2_batch(store_conn, world.layers(), load_measures(), world.scope(P811, empty))
    assert set(result["summary"].values()) == {"Passed"}
    ungrouped = [r for r in result["rows"] if "=" not in r.subset]
    assert ungrouped and all(r.upstream_count == r.downstream_count == 0 for r in ungrouped)
    assert not [r for r in result["rows"] if "=" in r.subset]  # no groups at all on either side
