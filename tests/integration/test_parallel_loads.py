"""Batch loads running at the same time, as mapped load tasks do under a real scheduler.

Regression for issue #14: every batch transaction used to run CREATE SCHEMA/TABLE/INDEX IF NOT
EXISTS before its DELETE + COPY (Postgres: two batches holding SHARE locks from CREATE INDEX each
waited for the other's DELETE -> ``deadlock detected``; on a fresh schema ``duplicate key ...
pg_namespace_nspname_index``), and MariaDB's range DELETE under REPEATABLE READ gap-locked the
neighbouring batches' ranges, so their INSERTs deadlocked (1213). Each round here starts every
batch of a hop at once (a barrier) on its own connections, first into tables that do not exist
yet, then again as a rerun over existing rows.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import MySQLdb
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest

from recon_operators.demo import services
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.demo.loaders import load_stage, load_target, load_transform
from recon_operators.migration.landing import BatchRange

pytestmark = pytest.mark.integration

BATCHES = [BatchRange(f"B{i}", str(628150000000 + i * 40), str(628150000000 + i * 40 + 39)) for i in range(4)]
COHORT = CohortSpec(
    "CP",
    [PrefixSpec("P815", "62815", list(BATCHES))],
    seed=3,
    non_migratable_rate=0.1,
)
DATASETS = ["subscribers", "balances", "payments", "addons"]
ROUNDS = 3  # the first creates the tables, the others replace existing rows


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, pa.Table]]:
    tables = generate(COHORT)
    base = str(tmp_path_factory.mktemp("parallel_landing"))
    write_landing(tables, filesystem=pafs.LocalFileSystem(), base_path=base, cohort_id="CP", fmt="csv")
    return base, tables


@pytest.fixture
def stage_db(databases: dict[str, str]) -> Iterator[str]:
    name = services.create_mariadb_database(services.unique_name("recon_t_parallel"))
    try:
        yield name
    finally:
        services.drop_mariadb_database(name)


def _pg(dsn: str) -> Any:
    return psycopg2.connect(dsn)


def _my(database: str) -> Any:
    return MySQLdb.connect(
        host=services.MARIADB_HOST,
        port=services.MARIADB_PORT,
        user=services.MARIADB_USER,
        passwd="",
        db=database,
        charset="utf8mb4",
    )


def all_at_once(work: Callable[[BatchRange], None]) -> list[str]:
    """Run ``work`` for every batch in its own thread, released together; the errors, one per line."""
    barrier = threading.Barrier(len(BATCHES))
    errors: list[str] = []

    def run(batch: BatchRange) -> None:
        try:
            barrier.wait(timeout=60)
            work(batch)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(f"{batch.batch_id}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(batch,)) for batch in BATCHES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a load hung"
    return errors


def migrated(tables: dict[str, pa.Table], name: str) -> int:
    subscribers = tables["subscribers"]
    members = pc.filter(subscribers["msisdn"], pc.fill_null(subscribers["migratable"], False))
    return pc.sum(pc.is_in(tables[name]["msisdn"], value_set=members)).as_py()


def counts_pg(dsn: str, schema: str) -> dict[str, int]:
    with closing(_pg(dsn)) as conn, conn.cursor() as cur:
        out = {}
        for name in DATASETS:
            cur.execute(f'SELECT count(*) FROM "{schema}"."{name}"')
            out[name] = cur.fetchone()[0]
        return out


def counts_my(database: str) -> dict[str, int]:
    with closing(_my(database)) as conn:
        cur = conn.cursor()
        out = {}
        for name in DATASETS:
            cur.execute(f"SELECT count(*) FROM `{name}`")
            out[name] = cur.fetchone()[0]
        return out


@pytest.mark.parametrize("hop", ["transform", "stage", "target"])
def test_batches_of_a_hop_load_at_once_without_deadlocks(hop, landing, databases, stage_db):
    """The hops before ``hop`` are loaded one batch at a time; then every batch of ``hop`` loads at
    once, ROUNDS times: into tables that do not exist yet, then over the rows of the round before."""
    base, tables = landing
    dsn = services.pg_dsn(databases["transform"])
    tag = uuid.uuid4().hex[:8]
    transform, target = f"par_transform_{tag}", f"par_target_{tag}"
    fs = pafs.LocalFileSystem()

    def to_transform(batch: BatchRange) -> None:
        with closing(_pg(dsn)) as pg:
            load_transform(
                landing_fs=fs,
                landing_base=base,
                cohort_id="CP",
                batch=batch,
                pg_conn=pg,
                schema=transform,
                datasets=DATASETS,
            )

    def to_stage(batch: BatchRange) -> None:
        with closing(_pg(dsn)) as pg, closing(_my(stage_db)) as my:
            load_stage(pg_conn=pg, mysql_conn=my, cohort_id="CP", batch=batch, schema=transform, datasets=DATASETS)

    def to_target(batch: BatchRange) -> None:
        with closing(_my(stage_db)) as my, closing(_pg(dsn)) as pg:
            load_target(mysql_conn=my, target_conn=pg, cohort_id="CP", batch=batch, schema=target, datasets=DATASETS)

    hops = {"transform": to_transform, "stage": to_stage, "target": to_target}
    for before in list(hops)[: list(hops).index(hop)]:
        for batch in BATCHES:
            hops[before](batch)
    errors: list[str] = []  # every round runs, so the first failure mode cannot hide the next
    for round_no in range(1, ROUNDS + 1):
        errors += [f"round {round_no}: {e}" for e in all_at_once(hops[hop])]
    assert errors == [], "\n".join(errors)
    want = {name: migrated(tables, name) for name in DATASETS}
    got = {
        "transform": lambda: counts_pg(dsn, transform),
        "stage": lambda: counts_my(stage_db),
        "target": lambda: counts_pg(dsn, target),
    }[hop]()
    assert got == want


def test_prepare_layers_creates_tables_and_batch_indexes_once(databases, stage_db):
    from recon_operators.demo.layer_tables import layer_ddl
    from recon_operators.demo.loaders import prepare_layers
    from recon_operators.migration.landing import DATASETS as GENERATED
    from recon_operators.migration.landing import NON_MIGRATABLE

    dsn = services.pg_dsn(databases["transform"])
    tag = uuid.uuid4().hex[:8]
    transform, target = f"prep_transform_{tag}", f"prep_target_{tag}"
    with closing(_pg(dsn)) as pg:  # a table from before the batch index: only the msisdn index
        with pg.cursor() as cur:
            for statement in layer_ddl("subscribers", GENERATED["subscribers"].schema, "postgres", target)[:3]:
                cur.execute(statement)
        pg.commit()
    with closing(_pg(dsn)) as pg, closing(_my(stage_db)) as my, closing(_pg(dsn)) as tg:
        kwargs = {
            "transform_conn": pg,
            "stage_conn": my,
            "target_conn": tg,
            "transform_schema": transform,
            "target_schema": target,
            "datasets": ["subscribers", "balances"],
        }
        first = prepare_layers(**kwargs)
        again = prepare_layers(**kwargs)
    assert first == {
        "transform": [NON_MIGRATABLE, "subscribers", "balances"],
        "stage": ["subscribers", "balances"],
        "target": ["subscribers", "balances"],
    }
    assert again == {"transform": [], "stage": [], "target": []}
    with closing(_pg(dsn)) as pg, pg.cursor() as cur:
        cur.execute(
            "SELECT schemaname, tablename, indexdef FROM pg_indexes WHERE schemaname IN (%s, %s) AND indexname LIKE %s",
            (transform, target, "%_batch_idx"),
        )
        batch_indexes = {(schema, table): definition for schema, table, definition in cur.fetchall()}
    # The tables that hold cohort_id, the old target table included.
    assert set(batch_indexes) == {(transform, NON_MIGRATABLE), (transform, "subscribers"), (target, "subscribers")}
    assert batch_indexes[(target, "subscribers")].endswith("(cohort_id, msisdn)")
    with closing(_my(stage_db)) as my:
        cur = my.cursor()
        cur.execute(
            "SELECT table_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) FROM "
            "information_schema.statistics WHERE table_schema = DATABASE() AND index_name LIKE %s "
            "GROUP BY table_name",
            ("%_batch_idx",),
        )
        assert dict(cur.fetchall()) == {"subscribers": "cohort_id,msisdn"}
