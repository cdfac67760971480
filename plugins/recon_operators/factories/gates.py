"""Pick the gate operator for a stage's policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from recon_operators.operators.approval import ReconApprovalGateOperator
from recon_operators.operators.gate import POLICIES, ReconGateOperator


def build_gate(task_id: str, policy: str, *, approval_timeout: timedelta | None = None, **kwargs: Any) -> BaseOperator:
    """A gate task for ``policy`` (stop | approve | fail | warn)."""
    if policy not in POLICIES:
        raise ValueError(f"gate policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if policy == "approve":
        return ReconApprovalGateOperator(
            task_id=task_id, response_timeout=approval_timeout or timedelta(hours=24), **kwargs
        )
    return ReconGateOperator(task_id=task_id, policy=policy, **kwargs)
