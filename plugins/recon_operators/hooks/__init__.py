"""Airflow hooks: how operators reach the results store and the data, resolved lazily."""

from recon_operators.hooks.results_store import ResultsStoreHook

__all__ = ["ResultsStoreHook"]
