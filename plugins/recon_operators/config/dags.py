"""Models of the single-DAG config files: the store maintenance DAG and the example gate DAG."""

from __future__ import annotations

from pydantic import Field

from recon_operators.config.fields import ConnId, DagId, Policy, Schedule, SnsArn, Text
from recon_operators.config.loader import ConfigModel


class Alerts(ConfigModel):
    """Where a stopped gate or a failed task is announced; an unset connection is logged, never fatal."""

    slack_conn_id: ConnId | None = None
    sns_topic_arn: SnsArn | None = None  # type: ignore[valid-type]

    def routes(self) -> dict[str, str]:
        return self.model_dump(exclude_none=True)


class StoreMaintenanceFile(ConfigModel):
    """include/config/store.yaml: the results-store maintenance DAG (migrations, then a table check)."""

    dag_id: DagId
    owner: Text
    tags: list[Text] = []
    store_conn_id: ConnId = "recon_store"
    schedule: Schedule | None = Field(None, description="null: run on deploy (trigger it)")


class ExampleGateFile(ConfigModel):
    """include/config/example_gate.yaml: the runnable gated pipeline over the bundled example files."""

    dag_id: DagId
    owner: Text
    tags: list[Text] = []
    store_conn_id: ConnId = "recon_store"
    scope: dict[str, str] = Field(description="the scope the example's results are recorded under")
    stage: Text
    variants: dict[str, Text] = Field(
        min_length=1, description="conf 'variant' -> suite file under include/config/suites"
    )
    policy: Policy
    alerts: Alerts = Alerts()
    approved_dir: Text = Field(description="where the verified extract is copied")
