"""Gates: read the ledger's verdict for a scope and apply the stage's policy.

``stop``   skip the downstream loads of the scope, record Blocked, alert; the run ends failed
           through ``ReconRunOutcomeOperator`` (skips alone would leave an Airflow 3 run green).
``approve`` ask a human in the Airflow UI (see ``approval``); approve continues, reject or timeout stops.
``fail``   fail the gate task (no retry), alert.
``warn``   continue, record Warned, alert.
A scope with no results at all is ``Missing`` and never passes.
"""

from __future__ import annotations

from typing import Any, Sequence

from airflow.providers.common.compat.sdk import SkipMixin
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.masking import scrub
from recon_operators.engine.scope import Scope
from recon_operators.errors import one_line
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.summary import compact_summary

POLICIES = ("stop", "approve", "fail", "warn")
STOPPING_OUTCOMES = ("Blocked", "Failed", "Rejected", "TimedOut")
OUTCOME_XCOM_KEY = "gate_outcome"


def failure_line(summary: dict[str, Any], outcome: str) -> str:
    """One line naming the scope, the verdict and the first failed checks with their numbers."""
    parts = []
    for check in summary["failed_checks"][:3]:
        group = f"[{check['group_key']}]" if check.get("group_key") else ""
        if check.get("status") == "Error":
            parts.append(f"{check['check_name']}{group} error: {check.get('message')}")
        else:
            parts.append(f"{check['check_name']}{group} expected {check['expected']} actual {check['actual']}"
                         f" discrepancy {check['discrepancy']}")
    more = len(summary["failed_checks"]) + summary.get("failed_checks_omitted", 0) - len(parts)
    tail = f"; +{more} more" if more > 0 else ""
    detail = "; ".join(parts) or "no results recorded for this scope"
    return scrub(f"gate {outcome}: {summary['scope_key']} is {summary['status']}: {detail}{tail}")


class GateMixin:
    """What every gate shares: the verdict read, the decision record and the alert."""

    scope: dict[str, Any]
    suite: str | None
    stage: str | None
    policy: str
    with_children: bool
    store_conn_id: str
    slack_conn_id: str | None
    sns_topic_arn: str | None
    aws_conn_id: str
    log: Any

    def gate_scope(self) -> Scope:
        values = dict(self.scope)
        if self.stage:
            values["stage"] = self.stage
        return Scope.from_mapping(values)

    def read_verdict(self) -> tuple[Scope, dict[str, Any]]:
        scope = self.gate_scope()
        store = ResultsStoreHook(self.store_conn_id).get_store()
        try:
            verdict = store.verdict(scope, self.suite, with_children=self.with_children)
        finally:
            store.close()
        return scope, compact_summary(verdict, scope, self.suite)

    def record(self, context: Any, scope: Scope, summary: dict[str, Any], outcome: str,
               decided_by: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        ti = context["ti"]
        decision = {**summary, "outcome": outcome, "policy": self.policy, "gate_task": ti.task_id,
                    "decided_by": decided_by, **(extra or {})}
        store = ResultsStoreHook(self.store_conn_id).get_store()
        try:
            store.record_gate_decision(scope, policy=self.policy, verdict=summary["status"], outcome=outcome,
                                       run_id=f"{ti.dag_id}/{ti.run_id}", suite=self.suite,
                                       decided_by=decided_by, summary=decision)
        finally:
            store.close()
        ti.xcom_push(key=OUTCOME_XCOM_KEY, value=decision)
        return decision

    def skip_downstream(self, context: Any) -> None:
        """Skip the direct downstream tasks (the scope's next load); later tasks follow by their
        trigger rules, so the run-outcome task (all_done) still runs and fails the run."""
        downstream = [t for t in context["task"].get_direct_relatives(upstream=False) if not t.is_teardown]
        if downstream:
            self.skip(ti=context["ti"], tasks=downstream)  # type: ignore[attr-defined]  (SkipMixin)

    def alert(self, context: Any, summary: dict[str, Any], outcome: str) -> list[str]:
        """Send the alert on every configured route; a failed route is logged, never fatal."""
        from recon_operators.notifiers.alerts import GateAlert

        ti = context["ti"]
        alert = GateAlert(
            dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id,
            cohort_id=summary["scope"].get("cohort_id"), stage=summary["scope"].get("stage"),
            scope=summary["scope"], policy=self.policy, outcome=outcome, verdict_status=summary["status"],
            failed_checks=summary["failed_checks"], samples=summary.get("samples", []),
            run_url=getattr(ti, "log_url", None),
        )
        errors: list[str] = []
        if self.slack_conn_id:
            try:
                from recon_operators.notifiers.slack import send_slack

                send_slack(alert, self.slack_conn_id)
            except Exception as exc:  # noqa: BLE001 - an alert route failing must not hide the verdict
                errors.append(f"slack: {one_line(exc)}")
        if self.sns_topic_arn:
            try:
                from recon_operators.notifiers.sns import send_sns

                send_sns(alert, self.sns_topic_arn, aws_conn_id=self.aws_conn_id)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"sns: {one_line(exc)}")
        for error in errors:
            self.log.error("alert route failed: %s", error)
        return errors


class ReconGateOperator(GateMixin, BaseOperator, SkipMixin):
    """Gate with policy ``stop``, ``fail`` or ``warn`` (``approve``: ``ReconApprovalGateOperator``)."""

    template_fields: Sequence[str] = ("scope", "suite", "stage", "policy", "store_conn_id", "sns_topic_arn")
    template_fields_renderers = {"scope": "json"}
    inherits_from_skipmixin = True
    ui_color = "#fde2c8"

    def __init__(
        self,
        *,
        scope: dict[str, Any],
        policy: str = "stop",
        suite: str | None = None,
        stage: str | None = None,
        with_children: bool = False,
        slack_conn_id: str | None = None,
        sns_topic_arn: str | None = None,
        aws_conn_id: str = "aws_default",
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        if policy not in ("stop", "fail", "warn"):
            raise ValueError(f"policy must be stop, fail or warn here (approve: ReconApprovalGateOperator), not {policy!r}")
        kwargs["retries"] = 0  # a verdict does not change by retrying the gate
        super().__init__(**kwargs)
        self.scope = scope
        self.policy = policy
        self.suite = suite
        self.stage = stage
        self.with_children = with_children
        self.slack_conn_id = slack_conn_id
        self.sns_topic_arn = sns_topic_arn
        self.aws_conn_id = aws_conn_id
        self.store_conn_id = store_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        scope, summary = self.read_verdict()
        if summary["status"] == "Match":
            self.log.info("gate passed: %s matched %d/%d checks", scrub(scope.key), summary["matched"], summary["total"])
            return self.record(context, scope, summary, "Passed")
        outcome = {"stop": "Blocked", "fail": "Failed", "warn": "Warned"}[self.policy]
        message = failure_line(summary, outcome)
        self.log.warning("%s", message)
        alert_errors = self.alert(context, summary, outcome)
        decision = self.record(context, scope, summary, outcome, extra={"alert_errors": alert_errors})
        if self.policy == "fail":
            raise AirflowFailException(message)
        if self.policy == "stop":
            self.skip_downstream(context)
        return decision


class ReconRunOutcomeOperator(BaseOperator):
    """The run's last word: fail the DAG run when any gate stopped it or any task failed.

    Airflow 3 ends a run green when its only "failures" are skips; a blocked gate skips the loads,
    so this task (trigger rule ``all_done``) turns a stop into a failed, visible run.
    """

    template_fields: Sequence[str] = ("gate_task_ids",)

    def __init__(self, *, gate_task_ids: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        kwargs["retries"] = 0
        # Its failure only repeats what the gate or the failed task already alerted on.
        kwargs["on_failure_callback"] = None
        super().__init__(**kwargs)
        self.gate_task_ids = gate_task_ids

    def execute(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        decisions = []
        for task_id in self.gate_task_ids:
            pulled = ti.xcom_pull(task_ids=task_id, key=OUTCOME_XCOM_KEY, map_indexes=None)
            if isinstance(pulled, dict):
                decisions.append(pulled)
            elif isinstance(pulled, (list, tuple)):
                decisions.extend(d for d in pulled if isinstance(d, dict))
        stopped = [d for d in decisions if d.get("outcome") in STOPPING_OUTCOMES]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
        failed_tasks = sorted(key for key, state in states.items()
                              if state in ("failed", "upstream_failed") and key != ti.task_id)
        outcome = {
            "gates": [{k: d.get(k) for k in ("gate_task", "scope_key", "outcome", "status", "policy")} for d in decisions],
            "stopped": [d.get("gate_task") for d in stopped],
            "failed_tasks": failed_tasks,
        }
        if stopped:
            first = stopped[0]
            raise AirflowFailException(scrub(
                f"run stopped by {len(stopped)} gate(s); first: {first.get('gate_task')} {first.get('outcome')} "
                f"for {first.get('scope_key')} ({first.get('status')})"))
        if failed_tasks:
            raise AirflowFailException(f"run has failed tasks: {', '.join(failed_tasks)}")
        self.log.info("all %d gate(s) passed or warned", len(decisions))
        return outcome
