"""The benches' one setup (bench/data.py): the data every database bench measures, and its cleanup."""

from __future__ import annotations

import subprocess
from contextlib import closing
from pathlib import Path

import MySQLdb
import psycopg2
import pytest

from recon_operators.bench.data import bench_databases, mariadb_scan
from recon_operators.demo import services

pytestmark = pytest.mark.integration


def _databases() -> tuple[set[str], set[str]]:
    with closing(psycopg2.connect(services.pg_dsn())) as pg, pg.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database")
        postgres = {name for (name,) in cur.fetchall()}
    with closing(MySQLdb.connect(host=services.MARIADB_HOST, user=services.MARIADB_USER, passwd="")) as my:
        cur = my.cursor()
        cur.execute("SHOW DATABASES")
        mariadb = {name for (name,) in cur.fetchall()}
    return postgres, mariadb


def test_bench_databases_hold_the_truth_and_go_away() -> None:
    rows = 4000
    with bench_databases(rows, "recon-bench-test-") as data:
        truth = data.truth
        with closing(psycopg2.connect(services.pg_dsn(data.pg_db))) as pg, pg.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM subscribers")
            assert cur.fetchone()[0] == rows
        # The MariaDB floor command streams the target table: a header line, then one line a row.
        scanned = subprocess.run(mariadb_scan(data.my_db), capture_output=True, text=True, check=True).stdout
        assert len(scanned.splitlines()) == 1 + rows - truth.missing + truth.extra
        assert data.pg_url.endswith(f"/{data.pg_db}?table=subscribers")
        assert data.my_url.endswith(f"/{data.my_db}?table=subscribers")
        folder, names = Path(data.source_csv).parent, (data.pg_db, data.my_db)
        assert data.source_csv.exists() and data.target_csv.exists()
    postgres, mariadb = _databases()
    assert names[0] not in postgres and names[1] not in mariadb
    assert not folder.exists()
