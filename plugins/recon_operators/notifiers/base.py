"""What every alert route's failure callback does before it delivers: one place for it.

A route (Slack, SNS) only says how a rendered ``GateAlert`` leaves; building the alert from the
failed task's context, with the DAG's own scope, and staying quiet after a gate already alerted
are the same for every route, so they live here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

from recon_operators.notifiers.alerts import GateAlert, alert_from_context, already_alerted


class GateAlertNotifier(BaseNotifier, ABC):
    """``on_failure_callback`` that builds a masked ``GateAlert`` for the failed task and hands it
    to ``deliver``; a gate's stop already sent its own, fuller alert, so it sends nothing then."""

    def __init__(
        self, *, outcome: str = "Failed", policy: str | None = None, scope: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.policy = policy
        self.scope = dict(scope or {})  # the DAG's own scope (env, cohort) for tasks that carry none

    def notify(self, context: Any) -> None:
        if already_alerted(context):
            return
        self.deliver(alert_from_context(context, outcome=self.outcome, policy=self.policy, scope=self.scope))

    @abstractmethod
    def deliver(self, alert: GateAlert) -> None:
        """Send the alert by this route."""
