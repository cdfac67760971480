"""Airflow plugin: keeps the subscriber job table in step with its DAG runs (see the listener).

Loaded by the scheduler (runs that start, succeed, fail or time out), the api-server (runs
marked failed or successful by a user: a cancel) and ``dag.test()``.
"""

from airflow.plugins_manager import AirflowPlugin

from recon_operators.listeners import subscriber_jobs


class ReconSubscriberJobsPlugin(AirflowPlugin):
    name = "recon_subscriber_jobs"
    listeners = [subscriber_jobs]
