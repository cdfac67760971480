"""Airflow DAGs: one per cohort in include/config/cohorts (Transform -> MR1 -> Stage -> MR2 ->
Target -> MR3 -> overall summary), built by the cohort DAG factory."""

from recon_operators.factories.cohort import build_cohort_dags

globals().update(build_cohort_dags())
