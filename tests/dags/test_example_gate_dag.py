"""The bundled example pipeline (dags/recon_example_files_gate.py) clean and with faults."""

from __future__ import annotations

import psycopg2
import pytest

from tests.airflow_helpers import task_states

pytestmark = pytest.mark.dags


@pytest.fixture
def example_dag(slack_receiver, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return bag.dags["recon_example_files_gate"], slack_receiver


def _decisions(store_dsn: str, run_id: str) -> list[tuple]:
    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT outcome, verdict FROM recon.gate_decision WHERE run_id LIKE %s", (f"%/{run_id}",))
            return cur.fetchall()
    finally:
        conn.close()


def test_clean_extract_is_published(example_dag, store_dsn):
    dag, receiver = example_dag
    run = dag.test(run_conf={"variant": "clean"})
    assert run.state == "success"
    assert set(task_states(run).values()) == {"success"}
    assert _decisions(store_dsn, run.run_id) == [("Passed", "Match")]
    assert receiver.bodies == []


def test_drifted_extract_is_stopped_and_alerted(example_dag, store_dsn):
    dag, receiver = example_dag
    run = dag.test(run_conf={"variant": "drift"})
    states = task_states(run)
    assert states["gate_mini_recon_1"] == "failed" and states["publish_verified_extract"] == "upstream_failed"
    assert states["recon_outcome"] == "failed" and run.state == "failed"
    assert _decisions(store_dsn, run.run_id) == [("Blocked", "Mismatch")]
    assert len(receiver.bodies) == 1 and "balance_total" in receiver.bodies[0]["text"]
