"""Every DAG file imports cleanly through Airflow's own loader, with an owner and tags."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.dags


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_there_are_dags(dagbag):
    assert "recon_store_maintenance" in dagbag.dag_ids


def test_every_dag_has_a_real_owner_and_tags(dagbag):
    for dag_id, dag in dagbag.dags.items():
        owners = {task.owner for task in dag.tasks}
        assert owners and "airflow" not in owners, f"{dag_id} has no owner of its own"
        assert dag.tags, f"{dag_id} has no tags"
