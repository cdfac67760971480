"""Airflow DAGs: one per batch job in include/config/batch_jobs (source file -> parallel workers ->
staging -> MERGE -> final, reconciled at every level), built by the batch load DAG factory."""

from recon_operators.factories.batch_load import build_batch_load_dags

globals().update(build_batch_load_dags())
