"""The reconciliation engine: plain Python, never imports Airflow.

It takes live connections from whoever calls it (CLI, Spark job, Airflow operator) and returns
plain result objects that the store can record.
"""
