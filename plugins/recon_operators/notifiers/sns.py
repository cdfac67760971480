"""SNS delivery of alerts (pager, e-mail and queue subscribers) through the provider's SnsHook.

The AWS connection decides where it goes (moto in tests, AWS in production); message
attributes let subscribers filter by cohort, stage and outcome without parsing the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow.providers.amazon.aws.hooks.sns import SnsHook

from recon_operators.engine.masking import scrub
from recon_operators.notifiers.alerts import GateAlert, render_subject, render_text
from recon_operators.notifiers.base import GateAlertNotifier


def message_attributes(alert: GateAlert) -> dict[str, str]:
    """String attributes for subscription filter policies; unset ones are left out (SNS rejects empty values)."""
    values = {"cohort": alert.cohort_id, "stage": alert.stage, "outcome": alert.outcome}
    return {key: scrub(str(value))[:256] for key, value in values.items() if value}


def send_sns(
    alert: GateAlert, target_arn: str, aws_conn_id: str | None = "aws_default", *, region_name: str | None = None
) -> str:
    """Publish the rendered alert to a topic (or endpoint); returns the SNS message id."""
    hook = SnsHook(aws_conn_id=aws_conn_id, region_name=region_name)
    response = hook.publish_to_target(
        target_arn=target_arn,
        message=render_text(alert),
        subject=render_subject(alert),
        message_attributes=message_attributes(alert),
    )
    return str(response["MessageId"])


class ReconSnsNotifier(GateAlertNotifier):
    """``on_failure_callback`` that publishes a masked ``GateAlert`` for the failed task to SNS."""

    template_fields: Sequence[str] = ("target_arn", "aws_conn_id")

    def __init__(
        self,
        target_arn: str,
        aws_conn_id: str | None = "aws_default",
        *,
        outcome: str = "Failed",
        policy: str | None = None,
        region_name: str | None = None,
        scope: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(outcome=outcome, policy=policy, scope=scope)
        self.target_arn = target_arn
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name

    def deliver(self, alert: GateAlert) -> None:
        send_sns(alert, self.target_arn, self.aws_conn_id, region_name=self.region_name)
