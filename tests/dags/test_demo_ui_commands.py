"""The demo's closing lines export every connection the bundled DAGs name, so the runs open in
``airflow standalone`` and the cohort DAGs run there too (they used to export the store only)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

pytestmark = pytest.mark.dags


def named_connections() -> set[str]:
    """Every ``*conn_id`` a task of a demo DAG passes (mapped tasks too) or its failure alerts use."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert not bag.import_errors
    names: set[str] = set()
    for dag_id in ("recon_cohort_A", "recon_cohort_B", "recon_example_files_gate", "recon_store_maintenance"):
        for task in bag.dags[dag_id].tasks:
            values = {**vars(task), **getattr(task, "partial_kwargs", {})}
            names |= {v for k, v in values.items() if k.endswith("conn_id") and isinstance(v, str) and v}
            for notifier in values.get("on_failure_callback") or []:
                names |= {v for k, v in vars(notifier).items() if k.endswith("conn_id") and isinstance(v, str)}
    return names


def test_closing_lines_export_every_connection_the_dags_name():
    from recon_operators.demo.run import ui_commands

    lines = ui_commands(5055, 8099)
    exported = {
        m.group(1).lower(): shlex.split(m.group(2))[0]
        for m in (re.match(r"export AIRFLOW_CONN_(\w+)=(.+)", line) for line in lines)
        if m
    }
    needed = named_connections()
    assert {"recon_store", "transform_pg", "stage_mysql", "target_pg", "aws_default", "slack_alerts"} <= needed
    assert needed <= set(exported), needed - set(exported)
    assert exported["legacy_mysql"].endswith("/recon_demo_legacy")  # the subscriber jobs' Legacy (from their config)
    # The AWS and Slack connections point at the moto server and receiver the lines start.
    assert "http://127.0.0.1:5055" in exported["aws_default"]
    assert any("moto.server" in line and "-p 5055" in line for line in lines)
    assert '"127.0.0.1:8099"' in exported["slack_alerts"]
    assert any("demo.receiver --port 8099" in line for line in lines)
