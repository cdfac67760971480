"""Benchmark data: N synthetic subscribers as CSV (DuckDB), loaded into Postgres and MariaDB.

The differences are placed by formula (see include/sql/bench/subscribers_target.sql), so the
truth is computed here without reading the data back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

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
