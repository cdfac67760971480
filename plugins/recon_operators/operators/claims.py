"""The claims reconcile task: resolve connections, run the day (``recon_operators.claims``), and
turn its recorded status into the task's state.

SUCCESS and NO_FILES succeed (both are logged in metrics.pipeline_run_log); INVALID_FILE_COUNT
and INVALID_FILE fail without retry, since the same files would fail again and someone must fix
the delivery; any other error fails the task after a FAILED row was logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.claims.files import INVALID_FILE, INVALID_FILE_COUNT, NO_FILES
from recon_operators.paths import config_dir


class ClaimsReconcileOperator(BaseOperator):
    """Reconcile one business day's OLD and NEW claims files into metrics.* and S3 artifacts."""

    template_fields: Sequence[str] = ("business_date",)
    ui_color = "#d6eaf8"

    def __init__(self, *, config_file: str, business_date: str = "{{ ds }}", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_file = config_file
        self.business_date = business_date

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from recon_operators.claims.config import load_claims_config
        from recon_operators.claims.pipeline import reconcile_day
        from recon_operators.hooks.databases import postgres_connection

        path = Path(self.config_file)
        config = load_claims_config(path if path.is_absolute() else config_dir() / "claims" / path)
        outcome = reconcile_day(
            config,
            date.fromisoformat(self.business_date),
            s3=S3Hook(aws_conn_id=config.aws_conn_id).get_conn(),
            stage=lambda: postgres_connection(config.stage_conn_id),
            store=lambda: postgres_connection(config.store_conn_id),
        )
        self.log.info("%s %s: %s %s", config.dataset, outcome.business_date, outcome.status, outcome.message)
        if outcome.status in (INVALID_FILE_COUNT, INVALID_FILE):
            raise AirflowFailException(f"{outcome.status}: {outcome.message}")
        if outcome.status == NO_FILES:
            self.log.warning("no claims files for %s: logged as NO_FILES", outcome.business_date)
        return outcome.as_dict()
