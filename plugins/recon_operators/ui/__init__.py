"""The reconciliation view inside the Airflow UI: an api-server plugin (FastAPI, server-rendered).

``app`` serves the pages under ``/recon``; ``plugins/recon_ui_plugin.py`` registers it with a
navigation entry. Pages read the results store through the ``recon_store`` connection and
Airflow's own metadata (runs, task states); every page requires a logged-in Airflow user and
shows only what the DAGs that user may read wrote.
"""
