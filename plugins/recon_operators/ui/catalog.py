"""Which DAG wrote a row of the ledger, when the row itself does not say (a CLI run, a claims day).

Rows written by Airflow tasks carry ``dag/run/task`` in their run id; the configured cohorts,
batch-load jobs and claims datasets name their DAG ids too, so rows from elsewhere still map to
the DAG whose readers may see them. Reads only the YAML (no database), like the DAG processor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

from recon_operators.paths import config_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DagCatalog:
    cohorts: dict[tuple[str, str], str] = field(default_factory=dict)  # (env, cohort_id) -> dag_id
    batch_jobs: dict[str, str] = field(default_factory=dict)  # job -> dag_id
    claims: dict[str, str] = field(default_factory=dict)  # dataset -> dag_id

    def cohort_dag(self, env: str, cohort_id: str) -> str | None:
        return self.cohorts.get((env, cohort_id))


@lru_cache(maxsize=1)
def load_catalog() -> DagCatalog:
    """The DAG ids the shipped config builds; a config that fails to load maps nothing (logged):
    its DAGs show an import error in Airflow already, and rows with a run id still map."""
    from recon_operators.claims.config import load_claims_configs
    from recon_operators.config.batch_jobs import load_batch_jobs
    from recon_operators.config.cohorts import load_cohorts

    catalog = DagCatalog()
    loaders = (
        (lambda: {(c.env, c.cohort_id): c.dag_id for c in load_cohorts()}, catalog.cohorts),
        (lambda: {j.job: j.dag_id for j in load_batch_jobs()}, catalog.batch_jobs),
        (lambda: {c.dataset: c.dag_id for c in load_claims_configs(config_dir() / "claims")}, catalog.claims),
    )
    for load, into in loaders:
        try:
            into.update(load())
        except Exception as exc:  # noqa: BLE001 - a bad config must not take the view down
            log.warning("reconciliation view: config not loaded: %s", str(exc).splitlines()[0])
    return catalog
