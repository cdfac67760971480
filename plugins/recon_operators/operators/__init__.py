"""Airflow operators: thin wrappers that resolve hooks, call the engine, write the store."""
