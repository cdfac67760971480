"""The demo load steps on real services: landing files -> Postgres -> MariaDB -> Postgres, per batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import MySQLdb
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest

from recon_operators.demo import services
from recon_operators.demo.faults import Fault, apply_faults, with_faults
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.demo.loaders import load_stage, load_target, load_transform
from recon_operators.engine.adapters.files import s3_filesystem
from recon_operators.migration.landing import DATASETS, NON_MIGRATABLE, BatchRange, LoadError

pytestmark = pytest.mark.integration

B1 = BatchRange("1", "628110000000", "628110000199")
B2 = BatchRange("2", "628110000200", "628110000399")
COHORT = CohortSpec("C7", [PrefixSpec("P811", "62811", [B1, B2])], seed=7, non_migratable_rate=0.1)
MONEY_COLUMNS = {name: [f.name for f in info.schema if pa.types.is_decimal(f.type)] for name, info in DATASETS.items()}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate(COHORT)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory, tables: dict[str, pa.Table]) -> str:
    base = str(tmp_path_factory.mktemp("landing"))
    write_landing(tables, filesystem=pafs.LocalFileSystem(), base_path=base, cohort_id="C7", fmt="csv")
    return base


@pytest.fixture
def pg(transform_conn: Any) -> Any:
    return transform_conn


@pytest.fixture
def my(databases: dict[str, str]) -> Iterator[Any]:
    name = services.create_mariadb_database(services.unique_name("recon_t_loader"))
    conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=name, charset="utf8mb4")
    try:
        yield conn
    finally:
        conn.close()
        services.drop_mariadb_database(name)


@pytest.fixture
def schemas() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"transform": f"transform_{tag}", "target": f"target_{tag}"}


def landed(tables: dict[str, pa.Table], name: str, batch: BatchRange) -> pa.Table:
    table = tables[name]
    keep = pc.and_(
        pc.greater_equal(table["msisdn"], batch.msisdn_start), pc.less_equal(table["msisdn"], batch.msisdn_end)
    )
    return table.filter(keep)


def migrating(tables: dict[str, pa.Table]) -> set[str]:
    """MSISDNs that migrate, recomputed row by row (only an explicit true migrates)."""
    return {row["msisdn"] for row in tables["subscribers"].to_pylist() if row["migratable"] is True}


def expected(tables: dict[str, pa.Table], name: str, batch: BatchRange) -> pa.Table:
    """What Transformation (and so Stage and Target) must hold: migratable subscribers' rows only."""
    table = landed(tables, name, batch)
    keep = pa.array([m in migrating(tables) for m in table["msisdn"].to_pylist()], pa.bool_())
    return table.filter(keep)


def excluded_rows(conn: Any, schema: str, batch: BatchRange) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT msisdn, cohort_id, batch_id, source_system, subscriber_status, non_migratable_reason "
            f'FROM "{schema}".{NON_MIGRATABLE} WHERE msisdn BETWEEN %s AND %s ORDER BY msisdn',
            (batch.msisdn_start, batch.msisdn_end),
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def landed_exclusions(tables: dict[str, pa.Table], batch: BatchRange) -> list[tuple]:
    return [
        (
            r["msisdn"],
            r["cohort_id"],
            r["batch_id"],
            r["source_system"],
            r["subscriber_status"],
            r["non_migratable_reason"],
        )
        for r in landed(tables, "subscribers", batch).sort_by("msisdn").to_pylist()
        if r["migratable"] is not True
    ]


def arrow_sum(table: pa.Table, column: str) -> Decimal:
    value = pc.sum(table[column]).as_py()
    return Decimal(0) if value is None else value


def pg_stats(conn: Any, schema: str, name: str, batch: BatchRange) -> tuple[int, dict[str, Decimal]]:
    money = MONEY_COLUMNS[name]
    sums = "".join(f", COALESCE(SUM({c}), 0)" for c in money)
    with conn.cursor() as cur:
        cur.execute(
            f'SELECT COUNT(*){sums} FROM "{schema}"."{name}" WHERE msisdn BETWEEN %s AND %s',
            (batch.msisdn_start, batch.msisdn_end),
        )
        row = cur.fetchone()
    conn.commit()
    return row[0], dict(zip(money, row[1:]))


def my_stats(conn: Any, name: str, batch: BatchRange) -> tuple[int, dict[str, Decimal]]:
    money = MONEY_COLUMNS[name]
    sums = "".join(f", COALESCE(SUM({c}), 0)" for c in money)
    cur = conn.cursor()
    cur.execute(
        f"SELECT COUNT(*){sums} FROM `{name}` WHERE msisdn BETWEEN %s AND %s", (batch.msisdn_start, batch.msisdn_end)
    )
    row = cur.fetchone()
    conn.commit()
    return row[0], dict(zip(money, row[1:]))


def load_all(landing: str, pg: Any, my: Any, schemas: dict[str, str], batch: BatchRange, **kw: Any) -> None:
    kw_t = {k: v for k, v in kw.items() if k == "datasets"}
    load_transform(
        landing_fs=pafs.LocalFileSystem(),
        landing_base=landing,
        cohort_id="C7",
        batch=batch,
        pg_conn=pg,
        schema=schemas["transform"],
        **kw_t,
    )
    load_stage(pg_conn=pg, mysql_conn=my, cohort_id="C7", batch=batch, schema=schemas["transform"], **kw_t)
    load_target(mysql_conn=my, target_conn=pg, cohort_id="C7", batch=batch, schema=schemas["target"], **kw_t)


def assert_layers_match(
    tables: dict[str, pa.Table], pg: Any, my: Any, schemas: dict[str, str], batch: BatchRange
) -> None:
    for name in DATASETS:
        want = expected(tables, name, batch)
        want_sums = {c: arrow_sum(want, c) for c in MONEY_COLUMNS[name]}
        assert 0 < want.num_rows, name
        assert want.num_rows < landed(tables, name, batch).num_rows or name in ("wallets", "wallet_ledger"), name
        for layer, got in (
            ("transform", pg_stats(pg, schemas["transform"], name, batch)),
            ("stage", my_stats(my, name, batch)),
            ("target", pg_stats(pg, schemas["target"], name, batch)),
        ):
            assert got == (want.num_rows, want_sums), (layer, name)


def test_three_hops_keep_counts_sums_and_values(
    tables: dict[str, pa.Table], landing: str, pg: Any, my: Any, schemas: dict[str, str]
) -> None:
    for batch in (B1, B2):
        load_all(landing, pg, my, schemas, batch)
    for batch in (B1, B2):
        assert_layers_match(tables, pg, my, schemas, batch)
        # Every landed subscriber is accounted for: migrated, or recorded as excluded with its reason.
        exclusions = excluded_rows(pg, schemas["transform"], batch)
        assert exclusions == landed_exclusions(tables, batch) and exclusions
        assert all(r[5] is not None for r in exclusions)
    cur = my.cursor()  # the exclusion record stays in Transformation: Stage never gets it
    cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
        (NON_MIGRATABLE,),
    )
    assert cur.fetchone()[0] == 0
    # Values survive exactly: nulls vs empty strings, JSON text, booleans, UTC timestamps.
    with pg.cursor() as cur:
        cur.execute(
            "SELECT msisdn, non_migratable_reason, migratable, activated_at "
            f'FROM "{schemas["target"]}".subscribers ORDER BY msisdn'
        )
        subs = cur.fetchall()
        cur.execute(f'SELECT user_id, sso_connections FROM "{schemas["target"]}".app_users ORDER BY user_id')
        users = cur.fetchall()
    source = tables["subscribers"].filter(tables["subscribers"]["migratable"]).sort_by("msisdn")
    assert [r[0] for r in subs] == source["msisdn"].to_pylist()
    assert [r[1] for r in subs] == source["non_migratable_reason"].to_pylist()
    assert [r[2] for r in subs] == source["migratable"].to_pylist()
    assert [r[3] for r in subs] == source["activated_at"].to_pylist()
    source_users = tables["app_users"].sort_by("user_id")
    source_users = source_users.filter(pc.is_in(source_users["msisdn"], value_set=source["msisdn"]))
    assert [r[1] for r in users] == source_users["sso_connections"].to_pylist()


def test_rerun_replaces_own_batch_only(
    tables: dict[str, pa.Table], landing: str, pg: Any, my: Any, schemas: dict[str, str]
) -> None:
    for batch in (B1, B2):
        load_all(landing, pg, my, schemas, batch)
    written = load_transform(
        landing_fs=pafs.LocalFileSystem(),
        landing_base=landing,
        cohort_id="C7",
        batch=B1,
        pg_conn=pg,
        schema=schemas["transform"],
    )
    assert written == {
        **{name: expected(tables, name, B1).num_rows for name in DATASETS},
        NON_MIGRATABLE: len(landed_exclusions(tables, B1)),
    }
    load_all(landing, pg, my, schemas, B1)
    for batch in (B1, B2):
        assert_layers_match(tables, pg, my, schemas, batch)
        assert excluded_rows(pg, schemas["transform"], batch) == landed_exclusions(tables, batch)


def test_each_fault_changes_exactly_what_it_reports(
    tables: dict[str, pa.Table], landing: str, pg: Any, my: Any, schemas: dict[str, str]
) -> None:
    faults = Fault.from_conf(
        [
            {"stage": "transform", "kind": "drop", "dataset": "balances", "n": 3, "seed": 1},
            {"stage": "stage", "kind": "drift", "dataset": "payments", "column": "amount", "delta": "0.01", "n": 2},
            {
                "stage": "target",
                "kind": "flip",
                "dataset": "subscribers",
                "column": "subscriber_status",
                "to_value": "BARRED",
                "n": 4,
            },
        ]
    )
    injected: list[dict[str, Any]] = []
    fs = pafs.LocalFileSystem()
    names = ["balances", "payments", "subscribers"]
    for batch in (B1, B2):
        with_faults(load_transform, faults, injected)(
            landing_fs=fs,
            landing_base=landing,
            cohort_id="C7",
            batch=batch,
            pg_conn=pg,
            schema=schemas["transform"],
            datasets=names,
        )
        with_faults(load_stage, faults, injected)(
            pg_conn=pg, mysql_conn=my, cohort_id="C7", batch=batch, schema=schemas["transform"], datasets=names
        )
        with_faults(load_target, faults, injected)(
            mysql_conn=my, target_conn=pg, cohort_id="C7", batch=batch, schema=schemas["target"], datasets=names
        )
    assert [(i["stage"], i["kind"], len(i["keys"])) for i in injected] == [
        ("transform", "drop", 3),
        ("stage", "drift", 2),
        ("target", "flip", 4),
    ] * 2
    batch = B1
    # drop: count -3 from transform on, and the reported keys are the ones missing.
    want = expected(tables, "balances", batch)
    assert pg_stats(pg, schemas["transform"], "balances", batch)[0] == want.num_rows - 3
    assert my_stats(my, "balances", batch)[0] == want.num_rows - 3
    with pg.cursor() as cur:
        cur.execute(
            f'SELECT COUNT(*) FROM "{schemas["target"]}".balances WHERE msisdn = ANY(%s)', (injected[0]["keys"],)
        )
        assert cur.fetchone()[0] == 0
    # drift: transform keeps the source sum, stage and target carry +0.01 * 2.
    want_sum = arrow_sum(expected(tables, "payments", batch), "amount")
    assert pg_stats(pg, schemas["transform"], "payments", batch)[1]["amount"] == want_sum
    assert my_stats(my, "payments", batch)[1]["amount"] == want_sum + Decimal("0.02")
    assert pg_stats(pg, schemas["target"], "payments", batch)[1]["amount"] == want_sum + Decimal("0.02")
    # flip: only target's status groups move, by exactly the four reported subscribers.
    source = expected(tables, "subscribers", batch)
    before = {r["values"]: r["counts"] for r in pc.value_counts(source["subscriber_status"]).to_pylist()}
    with pg.cursor() as cur:
        cur.execute(
            f'SELECT subscriber_status, COUNT(*) FROM "{schemas["target"]}".subscribers '
            "WHERE msisdn BETWEEN %s AND %s GROUP BY 1",
            (batch.msisdn_start, batch.msisdn_end),
        )
        after = dict(cur.fetchall())
        cur.execute(
            f'SELECT COUNT(*) FROM "{schemas["target"]}".subscribers '
            "WHERE msisdn = ANY(%s) AND subscriber_status = 'BARRED'",
            (injected[2]["keys"],),
        )
        assert cur.fetchone()[0] == 4
    pg.commit()
    assert after["BARRED"] == before.get("BARRED", 0) + 4
    assert sum(after.values()) == sum(before.values())
    assert sum(before[s] - after.get(s, 0) for s in before if s != "BARRED") == 4


def test_failure_mid_load_keeps_previous_rows(
    tables: dict[str, pa.Table], landing: str, tmp_path: Path, pg: Any, my: Any, schemas: dict[str, str]
) -> None:
    names = ["balances", "payments"]
    drop = Fault("transform", "drop", "balances", n=5)
    fs = pafs.LocalFileSystem()
    with_faults(load_transform, [drop])(
        landing_fs=fs,
        landing_base=landing,
        cohort_id="C7",
        batch=B1,
        pg_conn=pg,
        schema=schemas["transform"],
        datasets=names,
    )
    with_faults(load_stage, [Fault("stage", "drop", "balances", n=2)])(
        pg_conn=pg, mysql_conn=my, cohort_id="C7", batch=B1, schema=schemas["transform"], datasets=names
    )
    with_faults(load_target, [Fault("target", "drop", "balances", n=1)])(
        mysql_conn=my, target_conn=pg, cohort_id="C7", batch=B1, schema=schemas["target"], datasets=names
    )
    full = expected(tables, "balances", B1).num_rows
    state = (
        pg_stats(pg, schemas["transform"], "balances", B1),
        my_stats(my, "balances", B1),
        pg_stats(pg, schemas["target"], "balances", B1),
    )
    assert [s[0] for s in state] == [full - 5, full - 7, full - 8]

    # A clean rerun of balances fails on payments (a fault on a missing column): nothing changes.
    bad = [
        Fault("transform", "drift", "payments", column="no_such", delta="1"),
        Fault("stage", "drift", "payments", column="no_such", delta="1"),
        Fault("target", "drift", "payments", column="no_such", delta="1"),
    ]
    with pytest.raises(ValueError, match="no_such"):
        with_faults(load_transform, bad)(
            landing_fs=fs,
            landing_base=landing,
            cohort_id="C7",
            batch=B1,
            pg_conn=pg,
            schema=schemas["transform"],
            datasets=names,
        )
    with pytest.raises(ValueError, match="no_such"):
        with_faults(load_stage, bad)(
            pg_conn=pg, mysql_conn=my, cohort_id="C7", batch=B1, schema=schemas["transform"], datasets=names
        )
    with pytest.raises(ValueError, match="no_such"):
        with_faults(load_target, bad)(
            mysql_conn=my, target_conn=pg, cohort_id="C7", batch=B1, schema=schemas["target"], datasets=names
        )
    # A landing folder without payments: the error names the missing file, balances stay as they were.
    partial = str(tmp_path / "partial")
    write_landing(
        {"subscribers": tables["subscribers"], "balances": tables["balances"]},
        filesystem=fs,
        base_path=partial,
        cohort_id="C7",
    )
    with pytest.raises(LoadError, match=r"payments/part-0000\.csv"):
        load_transform(
            landing_fs=fs,
            landing_base=partial,
            cohort_id="C7",
            batch=B1,
            pg_conn=pg,
            schema=schemas["transform"],
            datasets=names,
        )
    assert (
        pg_stats(pg, schemas["transform"], "balances", B1),
        my_stats(my, "balances", B1),
        pg_stats(pg, schemas["target"], "balances", B1),
    ) == state


def test_s3_parquet_landing(
    tables: dict[str, pa.Table], moto_server: services.MotoServer, pg: Any, schemas: dict[str, str]
) -> None:
    bucket = f"landing-{uuid.uuid4().hex[:8]}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    write_landing(tables, filesystem=fs, base_path=f"s3://{bucket}/in", cohort_id="C7", fmt="parquet")
    written = load_transform(
        landing_fs=fs,
        landing_base=f"s3://{bucket}/in",
        cohort_id="C7",
        batch=B2,
        pg_conn=pg,
        schema=schemas["transform"],
    )
    assert written[NON_MIGRATABLE] == len(landed_exclusions(tables, B2))
    for name in DATASETS:
        want = expected(tables, name, B2)
        assert written[name] == want.num_rows
        assert pg_stats(pg, schemas["transform"], name, B2) == (
            want.num_rows,
            {c: arrow_sum(want, c) for c in MONEY_COLUMNS[name]},
        ), name
        assert pg_stats(pg, schemas["transform"], name, B1)[0] == 0


@pytest.mark.parametrize(
    "conf, message",
    [
        ({"stage": "load", "kind": "drop", "dataset": "balances"}, "stage 'load'"),
        ({"stage": "stage", "kind": "delete", "dataset": "balances"}, "kind 'delete'"),
        ({"stage": "stage", "kind": "drop", "dataset": "nope"}, "dataset 'nope'"),
        ({"stage": "stage", "kind": "drift", "dataset": "payments", "delta": "1"}, "needs a column"),
        ({"stage": "stage", "kind": "drift", "dataset": "payments", "column": "amount", "delta": "x"}, "delta 'x'"),
        ({"stage": "stage", "kind": "drift", "dataset": "payments", "column": "currency", "delta": "1"}, "not numeric"),
        ({"stage": "stage", "kind": "flip", "dataset": "payments", "column": "payment_status"}, "to_value"),
        ({"stage": "stage", "kind": "flip", "dataset": "payments", "column": "nope", "to_value": "X"}, "column 'nope'"),
        ({"stage": "stage", "kind": "drop", "dataset": "balances", "n": -1}, "n must be >= 0"),
        ({"stage": "stage", "kind": "drop", "dataset": "balances", "oops": 1}, "unknown field"),
    ],
)
def test_fault_conf_is_validated(conf: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_conf([conf])


def test_apply_faults_only_touches_its_stage(tables: dict[str, pa.Table]) -> None:
    faults = Fault.from_conf([{"stage": "stage", "kind": "drop", "dataset": "balances", "n": 2, "prefix": "62811"}])
    same, none = apply_faults(tables["balances"], "balances", "transform", faults)
    assert same is tables["balances"] and none == []
    fewer, report = apply_faults(tables["balances"], "balances", "stage", faults)
    assert fewer.num_rows == tables["balances"].num_rows - 2 and len(report[0]["keys"]) == 2


def test_faults_wrap_only_the_demo_load_steps() -> None:
    """The wrapper finds a step's stage from the step itself: anything else is a caller bug."""
    assert with_faults(load_stage, []).__name__ == "load_stage"
    with pytest.raises(ValueError, match="faults wrap a demo load step"):
        with_faults(apply_faults, [])


def test_a_prefix_fault_leaves_other_prefixes_batches_alone(tables: dict[str, pa.Table]) -> None:
    # Loads run per batch: a fault for prefix 62899 reaches batches of other prefixes too, and
    # must pass them by (it used to fail their load: "cannot pick 5 rows: 0 ... eligible").
    faults = Fault.from_conf(
        [
            {
                "stage": "transform",
                "kind": "flip",
                "dataset": "subscribers",
                "column": "subscriber_status",
                "to_value": "BARRED",
                "prefix": "62899",
                "n": 5,
            }
        ]
    )
    same, report = apply_faults(tables["subscribers"], "subscribers", "transform", faults)
    assert same is tables["subscribers"] and report == []


def test_broken_connection_surfaces_driver_message(
    landing: str, databases: dict[str, str], schemas: dict[str, str]
) -> None:
    conn = psycopg2.connect(services.pg_dsn(databases["transform"]))
    conn.close()
    with pytest.raises(LoadError, match=r"^transform transform_\w+: connection already closed$"):
        load_transform(
            landing_fs=pafs.LocalFileSystem(),
            landing_base=landing,
            cohort_id="C7",
            batch=B1,
            pg_conn=conn,
            schema=schemas["transform"],
            datasets=["balances"],
        )
    stage = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", charset="utf8mb4")
    stage.close()
    with pytest.raises(LoadError, match=r"^stage MariaDB: \(2006"):  # the table check comes first
        load_stage(
            pg_conn=conn, mysql_conn=stage, cohort_id="C7", batch=B1, schema=schemas["transform"], datasets=["balances"]
        )


def test_a_table_whose_first_chunk_is_empty_copies_cleanly(databases):
    """Regression: pyarrow's CSV writer corrupts output when the first chunk is empty (as a
    filtered landing read yields); the COPY failed with 'invalid byte sequence ... 0x00'."""
    import psycopg2
    import pyarrow as pa

    from recon_operators.demo import loaders
    from recon_operators.demo.services import pg_dsn
    from recon_operators.migration.landing import DATASETS

    schema = DATASETS["balances"].schema
    full = pa.Table.from_pylist(
        [
            {
                "msisdn": f"6281100000{i:02d}",
                "pulsa_balance": None,
                "ucoin_balance": i,
                "currency": "IDR",
                "updated_at": None,
            }
            for i in range(10)
        ],
        schema=schema,
    )
    chunked = pa.concat_tables([full.slice(0, 0), full])
    assert chunked.column(0).num_chunks == 2 and len(chunked.column(0).chunks[0]) == 0
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    schema_name = f"chunks_{uuid.uuid4().hex[:8]}"
    try:
        batch = BatchRange("B1", "628110000000", "628110000099")
        assert loaders._pg_write(
            conn, schema_name, [("balances", chunked)], ["balances"], batch, "C1", "transform"
        ) == {"balances": 10}
    finally:
        conn.close()


def test_null_migratable_counts_as_not_migratable(
    tables: dict[str, pa.Table], tmp_path: Path, pg: Any, schemas: dict[str, str]
) -> None:
    subs = tables["subscribers"]
    unknown = landed(tables, "subscribers", B1).filter(landed(tables, "subscribers", B1)["migratable"])["msisdn"][:3]
    flag = pc.if_else(pc.is_in(subs["msisdn"], value_set=unknown), pa.scalar(None, pa.bool_()), subs["migratable"])
    nulled = {**tables, "subscribers": subs.set_column(subs.column_names.index("migratable"), "migratable", flag)}
    base = str(tmp_path / "nulls")
    fs = pafs.LocalFileSystem()
    write_landing({n: nulled[n] for n in ("subscribers", "balances")}, filesystem=fs, base_path=base, cohort_id="C7")
    written = load_transform(
        landing_fs=fs,
        landing_base=base,
        cohort_id="C7",
        batch=B1,
        pg_conn=pg,
        schema=schemas["transform"],
        datasets=["subscribers", "balances"],
    )
    assert written == {
        "subscribers": expected(tables, "subscribers", B1).num_rows - 3,
        "balances": expected(tables, "balances", B1).num_rows - 3,
        NON_MIGRATABLE: len(landed_exclusions(tables, B1)) + 3,
    }
    rows = {r[0]: r for r in excluded_rows(pg, schemas["transform"], B1)}
    assert all(rows[m][5] is None for m in unknown.to_pylist())
    with pg.cursor() as cur:
        cur.execute(
            f'SELECT count(*) FROM "{schemas["transform"]}".balances WHERE msisdn = ANY(%s)', (unknown.to_pylist(),)
        )
        assert cur.fetchone()[0] == 0
    pg.commit()
