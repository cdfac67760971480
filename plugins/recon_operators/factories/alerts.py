"""Failure alerts for every task of a generated DAG, from a config's ``alerts`` block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def failure_callbacks(alerts: dict[str, Any], scope: Mapping[str, str] | None = None) -> list[Any]:
    """``on_failure_callback`` notifiers for the configured routes (none configured: none).

    ``scope`` is the DAG's own (env, cohort): alerts of tasks without a scope of their own name it."""
    callbacks: list[Any] = []
    if alerts.get("slack_conn_id"):
        from recon_operators.notifiers.slack import ReconSlackNotifier

        callbacks.append(ReconSlackNotifier(alerts["slack_conn_id"], scope=scope))
    if alerts.get("sns_topic_arn"):
        from recon_operators.notifiers.sns import ReconSnsNotifier

        callbacks.append(
            ReconSnsNotifier(alerts["sns_topic_arn"], aws_conn_id=alerts.get("aws_conn_id", "aws_default"), scope=scope)
        )
    return callbacks
