"""What an alert says: a plain ``GateAlert`` and its Slack (mrkdwn) and SNS renderings.

No Airflow imports, so gates, the CLI and tests render alerts the same way. Every string that
leaves here has been through ``redact_secrets`` and ``mask_text`` (samples first through
``mask_value`` by column): check messages, scope values and errors come from data and
connections, and an alert is the last place a subscriber number or a password may escape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recon_operators.engine.masking import mask_value, scrub

log = logging.getLogger(__name__)

MAX_TEXT = 3500  # Slack shows ~3000 chars per block; one message stays readable below this
MAX_SUBJECT = 100  # SNS subject limit
SUMMARY_XCOM_KEY = "recon_summary"
SCOPE_KEYS = ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end", "stage")

_ICONS = {"Warned": ":warning:", "Approved": ":white_check_mark:", "Passed": ":white_check_mark:"}
_COLUMNS = (
    ("check", "check_name", 28),
    ("group", "group_key", 16),
    ("expected", "expected", 18),
    ("actual", "actual", 18),
    ("discrepancy", "discrepancy", 16),
    ("status", "status", 8),
)
_NUMERIC = {"expected", "actual", "discrepancy"}


@dataclass
class GateAlert:
    """One alert about one scope: who ran what, what the gate decided, and why."""

    dag_id: str
    run_id: str
    task_id: str | None = None
    cohort_id: str | None = None
    stage: str | None = None
    scope: dict[str, str] = field(default_factory=dict)
    policy: str | None = None
    outcome: str = "Failed"  # Blocked | Failed | Warned | Rejected | TimedOut | Mismatch ...
    verdict_status: str | None = None
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)  # keys of mismatched rows
    run_url: str | None = None
    error: str | None = None  # the exception of a plain task failure, one line


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _safe(value: Any, width: int | None = None) -> str:
    """Scrub first, clip after: clipping a raw number could leave a shorter, unmaskable run."""
    text = scrub(" ".join(str(value).split()))
    # Slack mrkdwn control characters; backticks would break the code block.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return _clip(text, width) if width else text


def _cell(check: Mapping[str, Any], key: str, width: int) -> str:
    value = check.get(key)
    return "-" if value is None or value == "" else _safe(value, width)


def _table(checks: list[dict[str, Any]], budget: int, max_rows: int) -> tuple[list[str], int]:
    """A fixed-width code block of as many checks as fit; returns its lines and how many it left out."""
    rows: list[list[str]] = []
    notes: list[str | None] = []
    for check in checks[:max_rows]:
        rows.append([_cell(check, key, width) for _, key, width in _COLUMNS])
        blank = check.get("expected") is None and check.get("actual") is None
        notes.append(_safe(check["message"], 110) if blank and check.get("message") else None)
    header = [title for title, _, _ in _COLUMNS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if title in _NUMERIC else c.ljust(w) for c, w, (title, _, _) in zip(cells, widths, _COLUMNS)
        ).rstrip()

    lines = ["```", line(header)]
    used = sum(len(x) + 1 for x in lines) + 4 + 40  # closing fence and the "... N more" line
    shown = 0
    for cells, note in zip(rows, notes):
        extra = [line(cells)] + ([f"  ↳ {note}"] if note else [])
        cost = sum(len(x) + 1 for x in extra)
        if used + cost > budget:
            break
        lines.extend(extra)
        used += cost
        shown += 1
    lines.append("```")
    return (lines if shown else []), len(checks) - shown


def _sample_line(sample: Mapping[str, Any]) -> str:
    masked = ", ".join(f"{key}={mask_value(str(key), value)}" for key, value in sample.items())
    return "• " + _safe(masked, 160)


def batch_label(scope: Mapping[str, Any]) -> str | None:
    """``PREFIX_ID/BATCH_ID`` (batch ids repeat across prefixes), or None for a wider scope."""
    batch = scope.get("batch_id")
    if not batch:
        return None
    prefix = scope.get("prefix_id") or scope.get("prefix")
    return f"{prefix}/{batch}" if prefix else str(batch)


def render_text(alert: GateAlert, *, max_checks: int = 15, max_samples: int = 5, limit: int = MAX_TEXT) -> str:
    """The Slack message: headline, scope, failed checks table, masked samples, link to the run."""
    icon = _ICONS.get(alert.outcome, ":rotating_light:")
    headline = (
        f"{icon} *{_safe(alert.outcome, 20)}*: cohort *{_safe(alert.cohort_id or '-', 60)}*, "
        f"stage *{_safe(alert.stage or '-', 40)}*"
    )
    batch = batch_label(alert.scope)
    if batch:
        headline += f", batch *{_safe(batch, 60)}*"
    if alert.policy or alert.verdict_status:
        headline += f" (policy `{_safe(alert.policy or '-', 20)}`, verdict *{_safe(alert.verdict_status or '-', 20)}*)"
    head = [
        headline,
        f"DAG `{_safe(alert.dag_id, 80)}` · run `{_safe(alert.run_id, 80)}` · task `{_safe(alert.task_id or '-', 80)}`",
    ]
    if alert.scope:
        scope = " · ".join(f"{k}={mask_value(k, v)}" for k, v in sorted(alert.scope.items()))
        head.append(f"*Scope:* {_safe(scope, 400)}")
    if alert.error:
        head.append(f"*Error:* {_safe(alert.error, 300)}")

    tail: list[str] = []
    if alert.samples:
        shown = alert.samples[:max_samples]
        tail.append(f"*Sample keys (masked), {len(shown)} of {len(alert.samples)}:*")
        tail.extend(_sample_line(s) for s in shown)
    if alert.run_url:
        tail.append(f"<{_safe(alert.run_url, 400)}|Open the run in Airflow>")

    body: list[str] = []
    if alert.failed_checks:
        body.append(f"*Failed checks ({len(alert.failed_checks)}):*")
        budget = limit - sum(len(x) + 1 for x in head + tail + body)
        table, left_out = _table(alert.failed_checks, budget, max_checks)
        body.extend(table)
        if left_out:
            body.append(f"_... {left_out} more failed check{'s' if left_out != 1 else ''} not shown_")

    text = scrub("\n".join(head + body + tail))  # last safety net over the assembled message
    return text if len(text) <= limit else _clip(text, limit - 20) + "\n_... truncated_"


def render_subject(alert: GateAlert) -> str:
    """One ASCII line of at most 100 characters (SNS rejects longer subjects and line breaks)."""
    failed = len(alert.failed_checks)
    what = f"{failed} failed check{'s' if failed != 1 else ''}" if failed else (alert.verdict_status or "task failed")
    batch = batch_label(alert.scope)
    where = f"cohort {alert.cohort_id or '-'} stage {alert.stage or '-'}" + (f" batch {batch}" if batch else "")
    subject = f"[recon] {alert.outcome}: {where} - {what}"
    subject = scrub(" ".join(subject.split())).encode("ascii", "replace").decode("ascii")
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 3] + "..."


# -- building an alert from an Airflow task context (duck-typed: no Airflow import) ------------
def _scope_from(*sources: Any) -> dict[str, str]:
    """Scope fields only: params/conf may hold anything else, including secrets. Later sources win."""
    scope: dict[str, str] = {}
    for source in sources:
        if not source:
            continue
        for key in SCOPE_KEYS:
            value = source.get(key) if hasattr(source, "get") else None
            if value not in (None, "") and "{{" not in str(value):  # an unrendered template says nothing
                scope[key] = str(value)
    return scope


def _task_stage(task: Any) -> str | None:
    """The stage a task works for: its ``stage``, a load's ``hop``, else its TaskGroup (one per hop)."""
    for attribute in ("stage", "hop"):
        value = getattr(task, attribute, None)
        if isinstance(value, str) and value and "{{" not in value:
            return value
    group = getattr(task, "task_group", None)
    group_id = getattr(group, "group_id", None)
    return group_id if isinstance(group_id, str) and group_id else None


def _task_label(ti: Any) -> str | None:
    """``task_id``, with ``[map index]`` for one instance of a mapped task."""
    task_id = getattr(ti, "task_id", None)
    map_index = getattr(ti, "map_index", None)
    if task_id and isinstance(map_index, int) and map_index >= 0:
        return f"{task_id}[{map_index}]"
    return task_id


def already_alerted(context: Mapping[str, Any]) -> bool:
    """True when the failure is a gate's own decision, which sent its alert before failing."""
    return bool(getattr(context.get("exception"), "alerted", False))


def _pull_summary(ti: Any) -> dict[str, Any]:
    """The task's ``recon_summary`` XCom, if any; an alert must go out even when this read fails."""
    if ti is None or not hasattr(ti, "xcom_pull"):
        return {}
    try:
        summary = ti.xcom_pull(task_ids=ti.task_id, key=SUMMARY_XCOM_KEY)
    except Exception as exc:  # noqa: BLE001 - any failure here must not stop the alert
        log.warning("could not read XCom %r for the alert: %s", SUMMARY_XCOM_KEY, scrub(str(exc)))
        return {}
    return summary if isinstance(summary, dict) else {}


def _error_line(exc: Any) -> str | None:
    if exc is None:
        return None
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    return " ".join(text.split())[:500] or None


def alert_from_context(
    context: Mapping[str, Any],
    *,
    outcome: str = "Failed",
    policy: str | None = None,
    scope: Mapping[str, Any] | None = None,
) -> GateAlert:
    """A ``GateAlert`` for a failed task, from its callback context and its ``recon_summary`` XCom.

    The scope comes from, later winning: ``scope`` (the DAG's own, e.g. env and cohort), the run's
    params and conf, the task's rendered ``scope`` argument (a mapped task's batch) and the
    summary. The stage from the summary, the scope, the task's ``stage``/``hop`` or its TaskGroup.
    The summary (pushed by recon tasks) may carry ``failed_checks``, ``samples``,
    ``verdict_status``, ``policy``, ``scope``, ``cohort_id`` and ``stage``.
    """
    ti = context.get("ti") or context.get("task_instance")
    task = context.get("task") or getattr(ti, "task", None)
    dag_run = context.get("dag_run")
    summary = _pull_summary(ti)
    task_scope = getattr(task, "scope", None)
    scope = _scope_from(
        scope,
        context.get("params"),
        getattr(dag_run, "conf", None),
        task_scope if isinstance(task_scope, Mapping) else None,
    )
    if isinstance(summary.get("scope"), dict):
        scope.update({str(k): str(v) for k, v in summary["scope"].items() if v is not None})
    try:
        run_url = getattr(ti, "log_url", None)
    except Exception:  # noqa: BLE001 - a missing URL is no reason to drop the alert
        run_url = None
    return GateAlert(
        dag_id=str(getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or "-"),
        run_id=str(context.get("run_id") or getattr(ti, "run_id", None) or getattr(dag_run, "run_id", "-")),
        task_id=_task_label(ti),
        cohort_id=summary.get("cohort_id") or scope.get("cohort_id"),
        stage=summary.get("stage") or scope.get("stage") or _task_stage(task),
        scope=scope,
        policy=summary.get("policy") or policy,
        outcome=outcome,
        verdict_status=summary.get("verdict_status") or summary.get("status"),
        failed_checks=list(summary.get("failed_checks") or []),
        samples=list(summary.get("samples") or []),
        run_url=run_url if isinstance(run_url, str) else None,
        error=_error_line(context.get("exception")),
    )
