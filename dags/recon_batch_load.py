"""Airflow DAGs: one per batch job in include/config/batch_jobs (source file -> parallel workers ->
staging -> MERGE -> final, reconciled at every level), built by the batch load DAG factory.

The shipped jobs are demo jobs, so their DAGs are drills: ``BATCH_DRILL`` wraps the worker and MERGE
steps so a run's ``faults`` conf can corrupt what they wrote. A production DAG file leaves it out."""

from recon_operators.demo.load_operators import BATCH_DRILL
from recon_operators.factories.batch_load import build_batch_load_dags

globals().update(build_batch_load_dags(drill=BATCH_DRILL))
