"""Airflow DAG: upgrade the results-store (ledger) schema, then verify its tables.

Built from include/config/store.yaml by the factory; this file only names it.
"""

from recon_operators.factories.maintenance import build_store_maintenance_dag

dag = build_store_maintenance_dag()
