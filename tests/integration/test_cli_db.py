"""``recon db upgrade`` / ``recon db status`` as a user runs them, exit codes included."""

import subprocess
import sys

import pytest

from recon_operators.demo.services import pg_dsn

pytestmark = pytest.mark.integration


def _recon(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recon_operators.cli", *args], capture_output=True, text=True, env=env)


def test_upgrade_then_upgrade_again_then_status(fresh_pg_database):
    dsn = pg_dsn(fresh_pg_database)
    first = _recon("db", "upgrade", "--dsn", dsn)
    assert first.returncode == 0, first.stderr
    assert "applied 0008_recon_results" in first.stdout
    again = _recon("db", "upgrade", "--dsn", dsn)
    assert (again.returncode, again.stdout.strip()) == (0, "results store is up to date: nothing to apply")
    status = _recon("db", "status", "--dsn", dsn)
    assert status.returncode == 0 and "0 pending" in status.stdout and "all required tables present" in status.stdout


def test_store_from_airflow_conn_variable(fresh_pg_database):
    import os

    env = {**os.environ, "AIRFLOW_CONN_RECON_STORE": pg_dsn(fresh_pg_database).replace("postgresql", "postgres", 1)}
    env.pop("RECON_STORE_DSN", None)
    assert _recon("db", "upgrade", env=env).returncode == 0


def test_unreachable_store_exits_2_with_one_line():
    result = _recon("db", "upgrade", "--dsn", "postgresql://postgres@127.0.0.1:5999/x")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("recon: error: cannot reach the results store")


def test_missing_database_exits_2(databases):
    result = _recon("db", "status", "--dsn", pg_dsn("recon_no_such_database_x"))
    assert result.returncode == 2 and 'database "recon_no_such_database_x" does not exist' in result.stderr
