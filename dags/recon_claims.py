"""Airflow DAG recon_claims: the daily OLD vs NEW claims reconciliation (reference 002), built
from include/config/claims by the claims factory."""

from recon_operators.factories.claims import build_claims_dags

globals().update(build_claims_dags())
