"""Reads from Airflow's metadata database: a DAG's newest run, its tasks' states per hop, and
how long each hop took in recent runs. The load hops record nothing in the results store, so
their cells and every duration come from here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon_operators.ui.matrix import hop_of

AWAITING_INPUT = "awaiting_input"


def _state(value: Any) -> str:
    return str(getattr(value, "value", value)) if value is not None else ""


def newest_run(session: Session, dag_id: str, until: date | None = None) -> dict[str, Any] | None:
    """The DAG's newest run (by when it was due), optionally the newest due by the end of ``until``."""
    query = select(DagRun).where(DagRun.dag_id == dag_id)
    if until is not None:
        query = query.where(DagRun.run_after < datetime.combine(until + timedelta(days=1), time(), UTC))
    run = session.scalars(query.order_by(DagRun.run_after.desc(), DagRun.id.desc()).limit(1)).first()
    if run is None:
        return None
    return {"run_id": run.run_id, "state": _state(run.state), "start_date": run.start_date, "end_date": run.end_date}


def hop_states(session: Session, dag_id: str, run_id: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """States of the run's tasks per hop, and the gate task of each hop that waits for a human."""
    rows = session.execute(
        select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
        )
    ).all()
    states: dict[str, list[str]] = {}
    awaiting: dict[str, str] = {}
    for task_id, state in rows:
        hop = hop_of(task_id)
        if hop is None:
            continue
        if task_id.startswith("load_"):
            states.setdefault(hop, []).append(_state(state))
        if task_id.startswith("gate_") and _state(state) == AWAITING_INPUT:
            awaiting[hop] = task_id
    return states, awaiting


def hop_durations(session: Session, dag_id: str, limit: int = 20) -> list[tuple[str, dict[str, float]]]:
    """Wall time of each hop (first task start to last task end) in the DAG's newest runs, oldest first."""
    runs = session.scalars(
        select(DagRun.run_id)
        .where(DagRun.dag_id == dag_id)
        .order_by(DagRun.run_after.desc(), DagRun.id.desc())
        .limit(limit)
    ).all()
    out: list[tuple[str, dict[str, float]]] = []
    for run_id in reversed(runs):
        spans: dict[str, list[datetime]] = {}
        for task_id, state, start, end in session.execute(
            select(TaskInstance.task_id, TaskInstance.state, TaskInstance.start_date, TaskInstance.end_date).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        ).all():
            hop = hop_of(task_id)
            if hop is None or start is None or end is None or _state(state) == "skipped":
                continue
            span = spans.setdefault(hop, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
        out.append((run_id, {hop: (end - start).total_seconds() for hop, (start, end) in spans.items()}))
    return out
