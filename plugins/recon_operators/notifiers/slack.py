"""Slack delivery of alerts through the provider's incoming-webhook hook.

The webhook token lives in an Airflow connection (``slackwebhook``), never in DAG code; the
message is rendered and masked by ``alerts`` so this module only sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

from recon_operators.notifiers.alerts import GateAlert, render_text
from recon_operators.notifiers.base import GateAlertNotifier


def send_slack(alert: GateAlert, slack_webhook_conn_id: str, *, timeout: int | None = None) -> None:
    """Post the rendered alert; raises if Slack answers anything but 200."""
    hook = SlackWebhookHook(slack_webhook_conn_id=slack_webhook_conn_id, timeout=timeout)
    hook.send(text=render_text(alert), unfurl_links=False, unfurl_media=False)


class ReconSlackNotifier(GateAlertNotifier):
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
        super().__init__(outcome=outcome, policy=policy, scope=scope)
        self.slack_webhook_conn_id = slack_webhook_conn_id
        self.timeout = timeout

    def deliver(self, alert: GateAlert) -> None:
        send_slack(alert, self.slack_webhook_conn_id, timeout=self.timeout)
