"""Airflow DAGs: one per cohort in include/config/cohorts (Transform -> MR1 -> Stage -> MR2 ->
Target -> MR3 -> overall summary), built by the cohort DAG factory. The shipped cohorts load with
the demo's built-in steps (``load: {kind: builtin}``); production cohorts use Glue or another DAG."""

from recon_operators.demo.load_operators import DEMO_LOADS
from recon_operators.factories.cohort import build_cohort_dags

globals().update(build_cohort_dags(builtin_loads=DEMO_LOADS))
