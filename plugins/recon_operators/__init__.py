"""Reconciliation gates for data migrations on Apache Airflow 3.

Layers (data flows one way): ``engine`` (no Airflow) -> ``store`` (results ledger on Postgres)
-> ``operators``/``sensors``/``notifiers`` (thin Airflow layer) -> ``factories`` (DAGs from config).
"""

__version__ = "0.1.0"
