"""A small migrated cohort on real services for the report tests: landed files (local), the
transformation and target layers in two fresh Postgres databases (schemas ``transform`` and
``target``, as the shipped configs name them), and the stage in a fresh MariaDB database, all
loaded by the project's own loaders, with optional faults per hop.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import Any

import MySQLdb
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from recon_operators.demo import services
from recon_operators.demo.faults import Fault, with_faults
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.demo.loaders import load_stage, load_target, load_transform
from recon_operators.migration.landing import BatchRange
from recon_operators.migration.layer_measure import Layers
from recon_operators.migration.report_sql import ReportScope

ENV = "test"
PREFIXES = [
    PrefixSpec(
        "P811",
        "62811",
        [BatchRange("B1", "628110000000", "628110000119"), BatchRange("B2", "628110000120", "628110000239")],
    ),
    PrefixSpec("P812", "62812", [BatchRange("B1", "628120000000", "628120000099")]),
]


@dataclass
class World:
    cohort_id: str
    landing_base: str
    tables: dict[str, pa.Table]
    transform: Any
    stage: Any
    target: Any
    dbs: dict[str, str] = field(default_factory=dict)

    def layers(self, **overrides: Any) -> Layers:
        values = {
            "transform": self.transform,
            "stage": self.stage,
            "target": self.target,
            "landing_fs": pafs.LocalFileSystem(),
            "landing_base": self.landing_base,
            **overrides,
        }
        return Layers(**values)

    def batches(self) -> list[tuple[PrefixSpec, BatchRange]]:
        return [(p, b) for p in PREFIXES for b in p.batches]

    def scope(self, prefix: PrefixSpec, batch: BatchRange | None = None, run_id: str | None = None) -> ReportScope:
        return ReportScope(
            run_id or f"run-{uuid.uuid4().hex[:8]}",
            ENV,
            self.cohort_id,
            prefix.prefix_id,
            prefix.prefix,
            batch.batch_id if batch else None,
            batch.msisdn_start if batch else None,
            batch.msisdn_end if batch else None,
        )

    def load(self, faults: Sequence[Fault] = (), hops: Sequence[str] = ("transform", "stage", "target")) -> None:
        for _, batch in self.batches():
            common = {"cohort_id": self.cohort_id, "batch": batch}
            if "transform" in hops:
                with_faults(load_transform, faults)(
                    landing_fs=pafs.LocalFileSystem(), landing_base=self.landing_base, pg_conn=self.transform, **common
                )
            if "stage" in hops:
                with_faults(load_stage, faults)(pg_conn=self.transform, mysql_conn=self.stage, **common)
            if "target" in hops:
                with_faults(load_target, faults)(mysql_conn=self.stage, target_conn=self.target, **common)

    def migratable(self, dataset: str, batch: BatchRange) -> pa.Table:
        """Landed rows of the batch that should arrive downstream (plain filter, for expectations)."""
        subs = self.tables["subscribers"].to_pylist()
        keep = {s["msisdn"] for s in subs if s["migratable"] and batch.msisdn_start <= s["msisdn"] <= batch.msisdn_end}
        table = self.tables[dataset]
        return table.filter(pc.is_in(table["msisdn"], value_set=pa.array(sorted(keep), pa.string())))


def make_world(
    tmp_path: Any, *, non_migratable_rate: float = 0.0, seed: int = 5, prefixes: Sequence[PrefixSpec] = PREFIXES
) -> Iterator[World]:
    """Generate, land locally and open fresh databases; everything is dropped afterwards.

    ``non_migratable_rate`` defaults to 0 so the expected downstream counts do not depend on
    whether the loaders drop non-migratable subscribers before the transformation layer.
    """
    cohort_id = f"C{uuid.uuid4().hex[:8]}"
    tables = generate(CohortSpec(cohort_id, list(prefixes), seed=seed, non_migratable_rate=non_migratable_rate))
    base = str(tmp_path / "landing")
    write_landing(tables, filesystem=pafs.LocalFileSystem(), base_path=base, cohort_id=cohort_id, fmt="csv")
    with ExitStack() as stack:
        dbs = {"transform": services.create_pg_database(services.unique_name("recon_t_rtr"))}
        stack.callback(services.drop_pg_database, dbs["transform"])
        dbs["target"] = services.create_pg_database(services.unique_name("recon_t_rtg"))
        stack.callback(services.drop_pg_database, dbs["target"])
        dbs["stage"] = services.create_mariadb_database(services.unique_name("recon_t_rst"))
        stack.callback(services.drop_mariadb_database, dbs["stage"])
        transform = stack.enter_context(closing(psycopg2.connect(services.pg_dsn(dbs["transform"]))))
        target = stack.enter_context(closing(psycopg2.connect(services.pg_dsn(dbs["target"]))))
        stage = stack.enter_context(
            closing(MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=dbs["stage"], charset="utf8mb4"))
        )
        yield World(cohort_id, base, tables, transform, stage, target, dbs)


def fetch(conn: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows
