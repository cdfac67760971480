"""The ``approve`` gate: a matching scope passes by itself; a mismatch waits for a human.

The approver sees the mismatch summary in the Airflow UI (Airflow 3's human-in-the-loop
operators). Approve continues; Reject, or no answer before ``response_timeout``, stops like a
``stop`` gate: the gate task fails, so it is the task that stopped the run, and the scope's next
loads never start. Who answered, and when, goes to the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from recon_operators.engine.masking import scrub
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.gate import GateMixin, failure_line


def _who(user: Any) -> str | None:
    if isinstance(user, dict):
        return user.get("name") or user.get("id")
    return None if user is None else str(user)


class ReconApprovalGateOperator(GateMixin, ApprovalOperator):
    template_fields: Sequence[str] = (*ApprovalOperator.template_fields, "scope", "suite", "stage", "store_conn_id")
    template_fields_renderers = {"scope": "json"}
    ui_color = "#fde2c8"

    def __init__(
        self,
        *,
        scope: dict[str, Any],
        suite: str | None = None,
        stage: str | None = None,
        with_children: bool = False,
        response_timeout: timedelta = timedelta(hours=24),
        slack_conn_id: str | None = None,
        sns_topic_arn: str | None = None,
        aws_conn_id: str = "aws_default",
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        verified_asset: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("subject", "Reconciliation mismatch: approve to continue")
        kwargs["retries"] = 0
        self.verified_outlets(kwargs, verified_asset)
        super().__init__(response_timeout=response_timeout, defaults=ApprovalOperator.REJECT, **kwargs)
        self.scope = scope
        self.suite = suite
        self.stage = stage
        self.policy = "approve"
        self.with_children = with_children
        self.slack_conn_id = slack_conn_id
        self.sns_topic_arn = sns_topic_arn
        self.aws_conn_id = aws_conn_id
        self.store_conn_id = store_conn_id

    def execute(self, context: Any) -> Any:
        scope, summary = self.read_verdict()
        if summary["status"] == "Match":
            self.log.info(
                "gate passed without asking: %s matched %d/%d", scrub(scope.key), summary["matched"], summary["total"]
            )
            return self.record(context, scope, summary, "Passed")
        from recon_operators.notifiers.alerts import GateAlert, render_text

        self.subject = scrub(f"{self.subject} ({scope.key})")
        ti = context["ti"]
        self.body = render_text(
            GateAlert(
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                task_id=ti.task_id,
                cohort_id=scope.cohort_id,
                stage=scope.stage,
                scope=scope.as_dict(),
                policy="approve",
                outcome="AwaitingApproval",
                verdict_status=summary["status"],
                failed_checks=summary["failed_checks"],
                samples=[],
                run_url=getattr(ti, "log_url", None),
            )
        )
        self.log.warning("%s; waiting for approval", failure_line(summary, "AwaitingApproval"))
        self.alert(context, summary, "AwaitingApproval")
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        scope, summary = self.read_verdict()
        if "error" in event:
            outcome = "TimedOut" if event.get("error_type") == "timeout" else "Rejected"
            self.alert(context, summary, outcome)
            self.record(context, scope, summary, outcome, extra={"error": str(event.get("error"))[:500]})
            self.stop(failure_line(summary, outcome))
        chosen = (event.get("chosen_options") or [None])[0]
        who = _who(event.get("responded_by_user"))
        approved = chosen == self.APPROVE
        # No responder means the timeout applied the default (Reject).
        outcome = "Approved" if approved else ("Rejected" if who else "TimedOut")
        responded_at = event.get("responded_at")
        extra = {"responded_at": responded_at.isoformat() if hasattr(responded_at, "isoformat") else responded_at}
        if not approved:
            self.record(context, scope, summary, outcome, decided_by=who, extra=extra)
            self.alert(context, summary, outcome)
            self.stop(failure_line(summary, outcome) + (f" (by {who})" if who else ""))
        result = super().execute_complete(context, event)  # validates the answer before it is recorded
        self.record(context, scope, summary, outcome, decided_by=who, extra=extra)
        return result
