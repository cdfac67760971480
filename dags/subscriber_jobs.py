"""Airflow DAGs subscriber_migration, subscriber_bulk_delete, subscriber_audit and subscriber_export:
subscriber jobs across Cloud (DynamoDB) and Legacy (MySQL), built from include/config/subscribers."""

from recon_operators.factories.subscribers import build_subscriber_dags

globals().update(build_subscriber_dags())
