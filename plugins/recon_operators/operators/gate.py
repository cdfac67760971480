"""Gates: read the ledger's verdict for a scope and apply the stage's policy.

``stop``   record Blocked, alert, then fail the gate task (no retry): in the UI the gate is the red
           box that stopped the run, the loads after it never run (upstream_failed), and
           ``ReconRunOutcomeOperator`` fails the run naming the gate. (A gate that skipped its
           downstream tasks had to end green: Airflow marks a task that skips downstream success.)
``approve`` ask a human in the Airflow UI (see ``approval``); approve continues, reject or timeout
           stops like ``stop``.
``fail``   fail the gate task (no retry), alert; the tasks after it end upstream_failed.
``warn``   continue, record Warned, alert.
A scope with no results at all is ``Missing`` and never passes. A gate that lets verified data
through (Passed, Approved) emits its cohort and hop's asset event (``assets``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.masking import scrub
from recon_operators.engine.scope import Scope
from recon_operators.errors import one_line
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.operators.assets import emit_verified, gate_alias
from recon_operators.operators.summary import compact_summary

POLICIES = ("stop", "approve", "fail", "warn")
STOPPING_OUTCOMES = ("Blocked", "Failed", "Rejected", "TimedOut")
OUTCOME_XCOM_KEY = "gate_outcome"


class GateStopped(AirflowFailException):
    """The gate stopped its scope; the ledger says why and the gate has alerted already, so the
    DAG's failure callbacks stay quiet (``notifiers.alerts.already_alerted``). Never retried."""

    alerted = True


def failure_line(summary: dict[str, Any], outcome: str) -> str:
    """One line naming the scope, the verdict and the first failed checks with their numbers."""
    parts = []
    for check in summary["failed_checks"][:3]:
        group = f"[{check['group_key']}]" if check.get("group_key") else ""
        if check.get("status") == "Error":
            parts.append(f"{check['check_name']}{group} error: {check.get('message')}")
        else:
            parts.append(
                f"{check['check_name']}{group} expected {check['expected']} actual {check['actual']}"
                f" discrepancy {check['discrepancy']}"
            )
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
    verified_asset: Any
    log: Any

    def verified_outlets(self, kwargs: dict[str, Any], verified_asset: Any) -> None:
        """Declare the alias the verified event goes through (call before BaseOperator.__init__)."""
        self.verified_asset = verified_asset
        if verified_asset is not None:
            kwargs["outlets"] = [*kwargs.get("outlets", []), gate_alias(verified_asset)]

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

    def record(
        self,
        context: Any,
        scope: Scope,
        summary: dict[str, Any],
        outcome: str,
        decided_by: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        ti = context["ti"]
        decision = {
            **summary,
            "outcome": outcome,
            "policy": self.policy,
            "gate_task": ti.task_id,
            "decided_by": decided_by,
            **(extra or {}),
        }
        store = ResultsStoreHook(self.store_conn_id).get_store()
        try:
            store.record_gate_decision(
                scope,
                policy=self.policy,
                verdict=summary["status"],
                outcome=outcome,
                run_id=f"{ti.dag_id}/{ti.run_id}",
                suite=self.suite,
                decided_by=decided_by,
                summary=decision,
            )
        finally:
            store.close()
        ti.xcom_push(key=OUTCOME_XCOM_KEY, value=decision)
        if self.verified_asset is not None and emit_verified(context, self.verified_asset, decision):
            self.log.info("verified: asset event on %s", self.verified_asset.uri)
        return decision

    def stop(self, message: str) -> NoReturn:
        """Fail this task without retry: the gate is the task that stopped the run, and the
        scope's next loads never start. The run-outcome task (all_done) still runs."""
        raise GateStopped(message)

    def alert(self, context: Any, summary: dict[str, Any], outcome: str) -> list[str]:
        """Send the alert on every configured route; a failed route is logged, never fatal."""
        from recon_operators.notifiers.alerts import GateAlert

        ti = context["ti"]
        alert = GateAlert(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            cohort_id=summary["scope"].get("cohort_id"),
            stage=summary["scope"].get("stage"),
            scope=summary["scope"],
            policy=self.policy,
            outcome=outcome,
            verdict_status=summary["status"],
            failed_checks=summary["failed_checks"],
            samples=summary.get("samples", []),
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
            except Exception as exc:  # noqa: BLE001 - every alert route is tried; failures are reported together
                errors.append(f"sns: {one_line(exc)}")
        for error in errors:
            self.log.error("alert route failed: %s", error)
        return errors


class ReconGateOperator(GateMixin, BaseOperator):
    """Gate with policy ``stop``, ``fail`` or ``warn`` (``approve``: ``ReconApprovalGateOperator``)."""

    template_fields: Sequence[str] = ("scope", "suite", "stage", "policy", "store_conn_id", "sns_topic_arn")
    template_fields_renderers = {"scope": "json"}
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
        verified_asset: Any = None,
        **kwargs: Any,
    ) -> None:
        if policy not in ("stop", "fail", "warn"):
            raise ValueError(
                f"policy must be stop, fail or warn here (approve: ReconApprovalGateOperator), not {policy!r}"
            )
        kwargs["retries"] = 0  # a verdict does not change by retrying the gate
        self.verified_outlets(kwargs, verified_asset)
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
            self.log.info(
                "gate passed: %s matched %d/%d checks", scrub(scope.key), summary["matched"], summary["total"]
            )
            return self.record(context, scope, summary, "Passed")
        outcome = {"stop": "Blocked", "fail": "Failed", "warn": "Warned"}[self.policy]
        message = failure_line(summary, outcome)
        self.log.warning("%s", message)
        alert_errors = self.alert(context, summary, outcome)
        decision = self.record(context, scope, summary, outcome, extra={"alert_errors": alert_errors})
        if self.policy in ("stop", "fail"):
            self.stop(message)
        return decision


class ReconRunOutcomeOperator(BaseOperator):
    """The run's last word: fail the DAG run naming the gate that stopped it, or the failed tasks.

    Trigger rule ``all_done``: it runs after a stop too, so the run always ends saying why, and it
    also fails a run whose other failures Airflow would otherwise let end green (a skip chain).
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
        failed_tasks = sorted(
            key for key, state in states.items() if state in ("failed", "upstream_failed") and key != ti.task_id
        )
        outcome = {
            "gates": [
                {k: d.get(k) for k in ("gate_task", "scope_key", "outcome", "status", "policy")} for d in decisions
            ],
            "stopped": [d.get("gate_task") for d in stopped],
            "failed_tasks": failed_tasks,
        }
        if stopped:
            first = stopped[0]
            raise AirflowFailException(
                scrub(
                    f"run stopped by {len(stopped)} gate(s); first: {first.get('gate_task')} {first.get('outcome')} "
                    f"for {first.get('scope_key')} ({first.get('status')})"
                )
            )
        if failed_tasks:
            raise AirflowFailException(f"run has failed tasks: {', '.join(failed_tasks)}")
        self.log.info("all %d gate(s) passed or warned", len(decisions))
        return outcome
