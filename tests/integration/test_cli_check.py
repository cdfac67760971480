"""``recon check`` and ``recon validate`` as a user runs them: output, JSON and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn

from .recon_data import faulted, subscribers, table_name, write_mariadb, write_postgres

pytestmark = pytest.mark.integration


def recon(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def suite(databases, tmp_path):
    def make(*, fault: bool = False, target_table: str | None = None, checks=None) -> str:
        table = table_name()
        rows = subscribers()
        write_postgres(pg_dsn(databases["transform"]), table, rows)
        write_mariadb(databases["stage"], table, faulted(rows, amount=(2, "0.01")) if fault else rows)
        body = {
            "suite": "cli_suite",
            "source": {
                "connection": pg_dsn(databases["transform"]),
                "table": table,
                "filter": "cohort_id = :cohort_id",
            },
            "target": {"connection": "stage_mysql", "table": target_table or table, "filter": "cohort_id = :cohort_id"},
            "normalise": {"balance": {"type": "decimal", "scale": 2}},
            "checks": checks
            or [
                {"name": "subscriber_count", "kind": "row_count"},
                {"name": "balance_total", "kind": "sum", "column": "balance"},
            ],
        }
        path = tmp_path / f"{table}.yaml"
        path.write_text(yaml.safe_dump(body))
        return str(path)

    return make


@pytest.fixture
def stage_conn(databases):
    return {"AIRFLOW_CONN_STAGE_MYSQL": f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}"}


def test_all_matched_exits_0_with_a_table(suite, stage_conn):
    result = recon("check", suite(), "--scope", "cohort_id=C1", env=stage_conn)
    assert result.returncode == 0, result.stderr
    assert "subscriber_count" in result.stdout and "Match" in result.stdout
    assert "2 matched, 0 mismatched, 0 errors" in result.stdout


def test_mismatch_exits_1_and_json_is_one_object(suite, stage_conn):
    result = recon(
        "check", suite(fault=True), "--scope", "cohort_id=C1", "--scope", "env=prod", "--json", env=stage_conn
    )
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["summary"] == {"total": 2, "matched": 1, "mismatched": 1, "errors": 0}
    assert payload["scope"] == {"cohort_id": "C1", "env": "prod"}
    balance = next(r for r in payload["results"] if r["check"] == "balance_total")
    assert balance["discrepancy"] == "0.01" and balance["status"] == "Mismatch"


def test_missing_table_exits_2(suite, stage_conn):
    result = recon("check", suite(target_table="no_such_table"), "--scope", "cohort_id=C1", env=stage_conn)
    assert result.returncode == 2
    assert "no_such_table" in result.stdout and "Error" in result.stdout


def test_unknown_connection_exits_2(suite):
    result = recon("check", suite(), "--scope", "cohort_id=C1", env={"AIRFLOW_CONN_STAGE_MYSQL": ""})
    assert result.returncode == 2 and "AIRFLOW_CONN_STAGE_MYSQL" in result.stdout


def test_malformed_yaml_exits_2_naming_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("suite: x\nchecks:\n  - name: a\n    kind: [row_count\n")
    result = recon("check", str(path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"recon: error: {path} line ") and "malformed YAML" in result.stderr


def test_validate_lists_every_problem(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "suite": "wrong",
                "source": {"connection": "a", "table": "t"},
                "target": {"table": "t"},
                "checks": [
                    {"name": "a", "kind": "sum"},
                    {"name": "a", "kind": "row_count"},
                    {"name": "c", "kind": "row_count", "tolerance": {"abs": "lots"}},
                ],
            }
        )
    )
    result = recon("validate", str(path))
    assert result.returncode == 2
    problems = result.stdout.strip().splitlines()
    assert problems == [
        f"{path} line 2: field checks[a].column: kind sum needs a column",
        f"{path} line 5: field checks[a].name: 'a' is used twice in this suite (first on line 3)",
        f"{path} line 9: field checks[c].tolerance.abs: must be a finite number >= 0, got 'lots'",
        f"{path} line 14: field target.connection: a table, query or collection side needs a connection "
        "(an Airflow id or a URL)",
    ]
    assert result.stderr == f"recon: error: {problems[0]} (+3 more problem(s))\n"


def test_validate_a_good_suite(suite):
    result = recon("validate", suite())
    assert result.returncode == 0 and "is valid: 2 check(s)" in result.stdout


def test_bad_scope_argument_exits_2(suite):
    result = recon("check", suite(), "--scope", "cohort_id")
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr
