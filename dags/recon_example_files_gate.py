"""Airflow DAG: reconcile the bundled example files, gate on the verdict, publish if clean.

Built from include/config/example_gate.yaml; trigger with conf {"variant": "drift"} to see a stop.
"""

from recon_operators.factories.example import build_example_gate_dag

dag = build_example_gate_dag()
