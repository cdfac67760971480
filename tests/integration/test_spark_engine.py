"""The Spark engine from the command line: the same JSON result as the default engine (counts,
per-column mismatches, masked samples, duplicate keys), and bad input as one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recon_operators.engine.spec import SuiteError, parse_suite
from tests.integration.rowdiff_data import (
    MY_DDL,
    changed,
    mariadb_url,
    pg_url,
    rows,
    table,
    write_mariadb,
    write_postgres,
)

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAME = (
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
    "equal",
    "key",
    "columns",
    "forms",
    "incomparable",
)


def recon(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", "diff", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_spark_diff_gives_the_default_engines_result(databases):
    """Postgres (char(8), numeric(14,2), double, timestamptz) vs MariaDB (CHAR(8), decimal(14,3),
    decimal(10,4), timestamp): a changed row, a missing row, an extra row and a duplicated key.
    The text key is read by JDBC in 3 hash partitions per side. (Spark re-padded MariaDB's CHAR
    values to 8 characters until the session read them as sent.)"""
    data = rows()
    target = changed(data, 3, email="someone@else.org", status="BARRED", balance=data[3]["balance"] + 1)[:-1]
    target += [dict(target[5]), {**data[0], "msisdn": "6289999999999"}]  # a duplicated key and an extra row
    pg_table, my_table = table(), table()
    write_postgres(databases["transform"], pg_table, data)
    write_mariadb(databases["stage"], my_table, target, ddl=MY_DDL.replace("plan varchar(8)", "plan CHAR(8)"))
    source, target_url = pg_url(databases["transform"], pg_table), mariadb_url(databases["stage"], my_table)
    default = recon(source, target_url, "--key", "msisdn", "--json")
    spark = recon(
        source,
        target_url,
        "--key",
        "msisdn",
        "--json",
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
        RECON_SPARK_JDBC_PARTITIONS="3",
    )
    assert default.returncode == 1, default.stderr
    assert spark.returncode == 1, spark.stderr
    expected, got = json.loads(default.stdout), json.loads(spark.stdout)
    assert {k: got[k] for k in SAME} == {k: expected[k] for k in SAME}
    assert (got["missing_in_target"], got["extra_in_target"], got["duplicate_keys_target"]) == (1, 1, 1)
    assert got["column_mismatches"] == {"balance": 1, "email": 1, "status": 1}
    assert got["source"]["engine"] == "spark" and "someone@else.org" not in spark.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--spark-master", "local[2]"), "--spark-master needs --engine spark"),
        (("--engine", "spark"), "the spark engine reads files and postgres/mysql tables, not a collection"),
    ],
    ids=["master-without-spark", "mongo-on-spark"],
)
def test_bad_spark_options_are_one_line_exit_2(tmp_path, args, message):
    source = tmp_path / "a.csv"
    source.write_text("id\n1\n")
    done = recon(str(source), "mongodb://127.0.0.1:27017/db?collection=c", "--key", "id", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_suite_engine_is_validated():
    text = "suite: s\nengine: {engine}\nsource: {{path: a.csv}}\ntarget: {{path: b.csv}}\nchecks: [{{name: n, kind: row_count}}]\n"
    assert parse_suite(text.format(engine="spark")).engine == "spark"
    assert parse_suite(text.format(engine="default")).engine is None
    with pytest.raises(SuiteError) as caught:
        parse_suite(text.format(engine="flink"), "s.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "s.yaml line 2: field engine: must be one of default, spark, got 'flink'"
    ]


def test_recon_check_on_spark_reads_quoted_newlines_unless_multiline_is_off(tmp_path):
    """``recon check --engine spark``: a CSV value may hold a newline (read as one row); with
    ``csv: {multiline: false}`` Spark splits lines, so the same file no longer reads as 2 rows."""
    data = tmp_path / "notes.csv"
    data.write_text('id,note\n1,"two\nlines"\n2,plain\n')
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"suite: notes\nsource: {{path: {data}}}\ntarget: {{path: {data}, csv: {{multiline: false}}}}\n"
        "checks: [{name: rows, kind: row_count}]\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recon_operators.cli",
            "check",
            str(suite),
            "--engine",
            "spark",
            "--spark-master",
            "local[1]",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode in (1, 2), done.stderr
    (result,) = json.loads(done.stdout)["results"]
    assert result["expected"] == 2 and result["status"] in ("Mismatch", "Error")
    assert result["source"]["engine"] == "spark"
