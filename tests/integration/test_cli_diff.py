"""``recon diff`` as a user runs it: dataset URLs, JSON fields and exit codes 0/1/2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.rowdiff_data import changed, mariadb_url, pg_url, rows, table, write_mariadb, write_postgres

pytestmark = pytest.mark.integration

JSON_FIELDS = {
    "source_rows",
    "target_rows",
    "matched_rows",
    "missing_in_target",
    "extra_in_target",
    "changed_rows",
    "duplicate_keys_source",
    "duplicate_keys_target",
    "column_mismatches",
    "samples",
}


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def recon(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", "diff", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=ROOT,
    )


@pytest.fixture
def tables(databases):
    def make(source_rows, target_rows) -> tuple[str, str]:
        pg_table, my_table = table(), table()
        write_postgres(databases["transform"], pg_table, source_rows)
        write_mariadb(databases["stage"], my_table, target_rows)
        return pg_url(databases["transform"], pg_table), mariadb_url(databases["stage"], my_table)

    return make


def test_equal_tables_exit_0_with_every_json_field(tables):
    source, target = tables(rows(), rows())
    done = recon(source, target, "--key", "msisdn", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert JSON_FIELDS <= set(report)
    assert (report["source_rows"], report["matched_rows"], report["equal"]) == (30, 30, True)


def test_differences_exit_1_and_masked_samples(tables):
    data = rows()
    source, target = tables(data, changed(data, 3, email="someone@else.org", status="BARRED")[:-1])
    done = recon(source, target, "--key", "msisdn", "--exclude", "note", "--sample", "1", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["missing_in_target"], report["changed_rows"]) == (1, 1)
    assert report["column_mismatches"] == {"email": 1, "status": 1}
    sample = report["samples"][0]
    assert sample["columns"]["email"] == "u***@example.com~s***@else.org"
    assert "someone@else.org" not in done.stdout and "6281200000003" not in done.stdout
    text = recon(source, target, "--key", "msisdn", "--columns", "status,email")
    assert text.returncode == 1 and "changed 1" in text.stdout and "DIFFERENT" in text.stdout


def test_tolerance_rule_and_conn_urls(tables, airflow_env, databases):
    data = rows()
    source, target = tables(data, changed(data, 2, balance=data[2]["balance"] + 1, status=" barred"))
    pg_table = source.split("table=")[1]
    conn_source = f"conn://transform_pg?table={pg_table}"
    done = recon(
        conn_source, target, "--key", "msisdn", "--tolerance", "balance=1", "--rule", "status=trim,upper", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("postgresql://postgres@127.0.0.1:5432/postgres?table=no_such_table", "x.csv", "--key", "k"), "x.csv"),
        (("nowhere.txt", "x.csv", "--key", "k"), "neither a dataset URL"),
        (("mysql://root@127.0.0.1:3306/x", "x.csv", "--key", "k"), "?table=name or ?query"),
        (("conn://not_defined?table=t", "x.csv", "--key", "k"), "AIRFLOW_CONN_NOT_DEFINED"),
        (("a.csv", "b.csv", "--key", "k", "--tolerance", "k"), "COLUMN=VALUE"),
        (("a.csv", "b.csv", "--key", "k", "--rule", "k=sideways"), "rule item 'sideways'"),
        (
            (
                "include/config/examples/legacy_subscribers.csv",
                "include/config/examples/stage_subscribers.csv",
                "--key",
                "msisdn",
                "--memory-limit",
                "lots",
            ),
            "memory limit 'lots'",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    done = recon(*args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_missing_table_names_the_side(tables, databases):
    source, _ = tables(rows(3), rows(3))
    done = recon(source, mariadb_url(databases["stage"], "no_such_table"), "--key", "msisdn")
    assert done.returncode == 2
    assert "target:" in done.stderr and "no_such_table" in done.stderr


def test_filters_bound_from_params_through_the_database_clients(tables):
    """psql and the mariadb client get the statement with values bound client-side: a quote in a
    value and a '%' in a LIKE survive, and both sides select the same 15 rows."""
    data = rows()
    source, target = tables(data, changed(data, 1, status="it's"))
    where = "&filter=batch%20%3D%20:batch%20AND%20email%20LIKE%20'%25@example.com'%20AND%20status%20<>%20:odd"
    done = recon(
        source + where, target + where, "--key", "msisdn", "--param", "batch=2", "--param", "odd=it's", "--json"
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert (report["source_rows"], report["target_rows"], report["missing_in_target"]) == (15, 14, 1)
    assert report["changed_rows"] == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_holds_every_difference_masked_unless_asked(tables, tmp_path, suffix):
    import duckdb

    data = rows()
    target = changed(changed(data, 3, status="BARRED"), 5, email="new@else.org")[:-1] + [
        dict(data[0], msisdn="6281399999999")
    ]
    source, target_url = tables(data, target)
    out = tmp_path / f"diff{suffix}"
    done = recon(source, target_url, "--key", "msisdn", "--output", str(out), "--sample", "0")
    assert done.returncode == 1, done.stderr
    written = duckdb.sql(f"SELECT * FROM '{out}' ORDER BY status, msisdn").fetchall()
    columns = [d[0] for d in duckdb.sql(f"SELECT * FROM '{out}' LIMIT 0").description]
    assert columns[:2] == ["status", "msisdn"] and "status__source" in columns and "email__target" in columns
    by_status = {}
    for row in written:
        by_status.setdefault(row[0], []).append(dict(zip(columns, row)))
    assert {k: len(v) for k, v in by_status.items()} == {"changed": 2, "extra_in_target": 1, "missing_in_target": 1}
    email_change = next(r for r in by_status["changed"] if r["email__target"])
    assert email_change["email__source"] == "u***@example.com" and email_change["email__target"] == "n***@else.org"
    assert email_change["status__source"] is None  # only the changed columns carry values
    assert all("*******" in r["msisdn"] for rs in by_status.values() for r in rs)
    raw = tmp_path / f"raw{suffix}"
    recon(source, target_url, "--key", "msisdn", "--output", str(raw), "--no-mask")
    assert "6281399999999" in {str(r[1]) for r in duckdb.sql(f"SELECT * FROM '{raw}'").fetchall()}


def test_output_to_s3(tables, airflow_env, moto_server, tmp_path):
    import pyarrow.parquet as pq

    from recon_operators.engine.adapters.files import s3_filesystem

    data = rows()
    source, target = tables(data, changed(data, 1, status="BARRED"))
    moto_server.client("s3").create_bucket(Bucket="diffs")
    done = recon(source, target, "--key", "msisdn", "--output", "s3://diffs/run1/diff.parquet")
    assert done.returncode == 1, done.stderr
    filesystem = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    table = pq.read_table("diffs/run1/diff.parquet", filesystem=filesystem)
    assert table.num_rows == 1 and table.column("status__target").to_pylist() == ["BARRED"]


def test_a_read_failing_deep_in_the_stream_is_that_sides_one_line(databases):
    """The sides stream through a pipe into DuckDB while the server still reads: a value that
    fails its declared cast 150,000 rows in (after DuckDB parsed the rows before it) must end the
    diff with the server's error for that side, not a parse error nor a hang, and never the value.
    (MariaDB's casts do not fail: '007x' reads as 7 with a warning.)"""
    import psycopg2

    from tests.integration.rowdiff_data import pg_dsn

    name = table()
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    with conn, conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {name} AS SELECT i AS id, CASE WHEN i = 150000 THEN '007x' ELSE i::text END "
            "AS code FROM generate_series(1, 160000) AS i"
        )
    conn.close()
    url = pg_url(databases["transform"], name)
    done = recon(url, url, "--key", "id", "--rule", "code=integer")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "007x" not in done.stderr
    assert "code" in lines[0] and ("source" in lines[0] or "target" in lines[0])
