"""Benchmark data: N synthetic subscribers as CSV (DuckDB), loaded into Postgres and MariaDB.

The differences are placed by formula (see include/sql/bench/subscribers_target.sql), so the
truth is computed here without reading the data back.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from recon_operators.demo import services
from recon_operators.paths import read_sql
from recon_operators.sql_templates import literal, render_sql


@dataclass(frozen=True)
class Truth:
    """What ``recon diff`` source -> target must report for N rows."""

    rows: int

    @property
    def missing(self) -> int:
        return len(range(3, self.rows, 2000))

    @property
    def extra(self) -> int:
        return self.missing

    # Rows changed per column (include/sql/bench/subscribers_target.sql): (step, offset) of the ids.
    CHANGES = {
        "balance": (1000, 1),
        "status": (2000, 1),
        "updated_at": (5000, 7),
        "is_migratable": (4000, 11),
        "profile": (6000, 13),
    }

    @property
    def column_mismatches(self) -> dict[str, int]:
        return {column: len(range(offset, self.rows, step)) for column, (step, offset) in self.CHANGES.items()}

    @property
    def changed(self) -> int:
        """Rows changed in any column (the id sets are disjoint but for status, a subset of balance)."""
        counts = self.column_mismatches
        return sum(n for column, n in counts.items() if column != "status")

    def check(self, result: dict[str, Any]) -> list[str]:
        """Every count that differs from the truth, as 'name: got X, want Y'."""
        want = {
            "source_rows": self.rows,
            "target_rows": self.rows - self.missing + self.extra,
            "matched_rows": self.rows - self.missing,
            "missing_in_target": self.missing,
            "extra_in_target": self.extra,
            "changed_rows": self.changed,
            "duplicate_keys_source": 0,
            "duplicate_keys_target": 0,
            "column_mismatches": self.column_mismatches,
        }
        return [f"{k}: got {result.get(k)}, want {v}" for k, v in want.items() if result.get(k) != v]


def _sql(name: str, source: Path, target: Path | None = None) -> str:
    files = {"source": literal(str(source)), **({"target": literal(str(target))} if target else {})}
    return render_sql(name, package="recon_operators.bench", **files)


def write_csvs(rows: int, folder: Path) -> tuple[Path, Path, Truth]:
    """source.csv and target.csv with the known differences."""
    source, target, truth = folder / "source.csv", folder / "target.csv", Truth(rows)
    with duckdb.connect() as duck:
        duck.execute("SET enable_progress_bar = false")
        duck.execute(_sql("subscribers_source.sql", source), {"rows": rows})
        duck.execute(_sql("subscribers_target.sql", source, target), {"rows": rows, "extras": truth.extra})
    return source, target, truth


def load_postgres(dsn: str, csv_path: Path) -> None:
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur, open(csv_path, "rb") as data:
        cur.execute(read_sql("subscribers_postgres.sql", package="recon_operators.bench"))
        cur.copy_expert(read_sql("load_postgres.sql", package="recon_operators.bench"), data)
        cur.execute("ANALYZE subscribers")
    conn.close()


def load_mariadb(connect_kwargs: dict[str, Any], csv_path: Path) -> None:
    import MySQLdb

    conn = MySQLdb.connect(local_infile=1, **connect_kwargs)
    try:
        cur = conn.cursor()
        cur.execute(read_sql("subscribers_mariadb.sql", package="recon_operators.bench"))
        cur.execute(read_sql("load_mariadb.sql", package="recon_operators.bench"), {"path": str(csv_path)})
        conn.commit()
    finally:
        conn.close()


@dataclass(frozen=True)
class BenchData:
    """One run's data: the CSV pair, its truth, and the same rows in a Postgres (source) and a
    MariaDB (target) database."""

    source_csv: Path
    target_csv: Path
    truth: Truth
    pg_db: str
    my_db: str

    @property
    def pg_url(self) -> str:
        return f"{services.pg_dsn(self.pg_db)}?table=subscribers"

    @property
    def my_url(self) -> str:
        return (
            f"mysql://{services.MARIADB_USER}@{services.MARIADB_HOST}:{services.MARIADB_PORT}/{self.my_db}"
            "?table=subscribers"
        )


@contextmanager
def bench_databases(rows: int, prefix: str) -> Iterator[BenchData]:
    """N rows as CSV files and as tables in fresh databases; the files and databases go at the end.

    Every bench that diffs database tables sets them up here, so they all measure the same data."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        print(f"generating {rows:,} rows ...", flush=True)
        # In a fresh process, so DuckDB's generation does not grow this one.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            source_csv, target_csv, truth = pool.submit(write_csvs, rows, Path(folder)).result()
        data = BenchData(
            source_csv, target_csv, truth, services.unique_name("bench_pg"), services.unique_name("bench_my")
        )
        services.create_pg_database(data.pg_db)
        try:
            services.create_mariadb_database(data.my_db)
            try:
                load_postgres(services.pg_dsn(data.pg_db), source_csv)
                load_mariadb(
                    {
                        "host": services.MARIADB_HOST,
                        "port": services.MARIADB_PORT,
                        "user": services.MARIADB_USER,
                        "passwd": "",
                        "db": data.my_db,
                    },
                    target_csv,
                )
                yield data
            finally:
                services.drop_mariadb_database(data.my_db)
        finally:
            services.drop_pg_database(data.pg_db)


def mariadb_scan(database: str) -> list[str]:
    """The MariaDB floor: the client streaming ``subscribers`` out unbuffered (``--quick``)."""
    return [
        "mariadb",
        "--quick",
        "--batch",
        "-h",
        services.MARIADB_HOST,
        "-P",
        str(services.MARIADB_PORT),
        "-u",
        services.MARIADB_USER,
        database,
        "-e",
        "SELECT * FROM subscribers",
    ]
