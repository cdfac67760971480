"""The store maintenance DAG run end to end with ``dag.test()`` against a real Postgres store."""

from __future__ import annotations

import psycopg2
import pytest

from recon_operators.demo import services
from recon_operators.store.migrations import discover

pytestmark = pytest.mark.dags


@pytest.fixture
def blank_store(airflow_db, monkeypatch, fresh_pg_database):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", services.pg_dsn(fresh_pg_database))
    return fresh_pg_database


def _dag():
    from recon_operators.factories.maintenance import build_store_maintenance_dag

    return build_store_maintenance_dag()


def test_upgrades_a_blank_store_and_verifies_it(blank_store):
    run = _dag().test()
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"upgrade_store": "success", "verify_store": "success"}
    conn = psycopg2.connect(services.pg_dsn(blank_store))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM recon.schema_migrations")
            assert cur.fetchone()[0] == len(discover())
    finally:
        conn.close()


def test_verify_fails_the_run_when_a_table_is_missing(blank_store):
    from recon_operators.store import apply_migrations, connect

    conn = connect(services.pg_dsn(blank_store))
    apply_migrations(conn)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE metrics.mismatch_detail_sample")
    conn.commit()
    conn.close()

    run = _dag().test()
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"upgrade_store": "success", "verify_store": "failed"}
