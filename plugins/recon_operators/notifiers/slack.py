"""Slack delivery of alerts through the provider's incoming-webhook hook.

The webhook token lives in an Airflow connection (``slackwebhook``), never in DAG code; the
message is rendered and masked by ``alerts`` so this module only sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook
from airflow.sdk import BaseNotifier

from recon_operators.notifiers.alerts import GateAlert, alert_from_context, already_alerted, render_text


def send_slack(alert: GateAlert, slack_webhook_conn_id: str, *, timeout: int | None = None) -> None:
    """Post the rendered alert; raises if Slack answers anything but 200."""
    hook = SlackWebhookHook(slack_webhook_conn_id=slack_webhook_conn_id, timeout=timeout)
    hook.send(text=render_text(alert), unfurl_links=False, unfurl_media=False)


class ReconSlackNotifier(BaseNotifier):
    """``on_failure_callback`` that posts a masked ``GateAlert`` for the failed task to Slack."""

    template_fields: Sequence[str] = ("slack_webhook_conn_id",)

    def __init__(
        self,
        slack_webhook_conn_id: str,
        *,
        outcome: str = "Failed",
        policy: str | None = None,
        timeout: int | None = None,
        scope: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.outcome = outcome
        self.policy = policy
        self.timeout = timeout
        self.scope = dict(scope or {})  # the DAG's own scope (env, cohort) for tasks that carry none

    def notify(self, context: Any) -> None:
        if already_alerted(context):
            return  # a gate's stop: the gate sent its own, fuller alert
        send_slack(
            alert_from_context(context, outcome=self.outcome, policy=self.policy, scope=self.scope),
            self.slack_webhook_conn_id,
            timeout=self.timeout,
        )
