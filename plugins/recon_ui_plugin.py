"""Registers the reconciliation view with Airflow: the api-server mounts its pages under /recon
and the UI's navigation gets a "Reconciliation" entry that shows them inside Airflow's own frame."""

from airflow.plugins_manager import AirflowPlugin

from recon_operators.ui.app import URL_PREFIX, app


class ReconciliationViewPlugin(AirflowPlugin):
    name = "recon_view"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Reconciliation view"}]
    external_views = [
        {
            "name": "Reconciliation",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "reconciliation",
            "destination": "nav",
            "category": "browse",
        },
    ]
