"""Airflow listeners (registered by the plugins at the top of plugins/)."""
