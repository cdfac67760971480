"""Declared corruptions of a batch load, to prove the reconciliation catches each level's loss.

They arrive through the DAG run's ``faults`` param (like the cohort DAGs'), so tests and users
trigger them through the DAG, never by patching code::

    [{"kind": "drop_rows", "worker": "w02", "n": 2}]          worker writes 2 rows fewer, says nothing
    [{"kind": "shift_amount", "worker": "w01", "delta": "0.01"}]  1 row's amount changed on its way
    [{"kind": "merge_loses_rows", "n": 3}]                    the MERGE leaves 3 staging rows out
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

FAULT_KINDS = ("drop_rows", "shift_amount", "merge_loses_rows")
WORKER_FAULTS = ("drop_rows", "shift_amount")
_FIELDS = {"kind", "worker", "n", "delta"}


class FaultError(ValueError):
    """A fault declaration is malformed; the message names which one and why."""


@dataclass(frozen=True)
class BatchFault:
    kind: str
    n: int = 1
    worker: str | None = None  # worker faults: the worker id (w01, w02...)
    delta: Decimal = Decimal("0.01")  # shift_amount: added to the amount

    def hits(self, worker_id: str) -> bool:
        return self.kind in WORKER_FAULTS and self.worker == worker_id


def parse_faults(raw: Any) -> list[BatchFault]:
    """Faults from the run's params; a templated ``{{ params.faults }}`` arrives as its text form."""
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw.strip() or "[]")
        except (ValueError, SyntaxError):
            raise FaultError(f"faults must be a list of mappings, got {raw[:80]!r}") from None
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise FaultError(f"faults must be a list of mappings, got {type(raw).__name__}")
    return [_fault(item, f"fault #{i + 1}") for i, item in enumerate(raw)]


def _fault(item: Any, where: str) -> BatchFault:
    if not isinstance(item, Mapping):
        raise FaultError(f"{where}: must be a mapping, got {type(item).__name__}")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise FaultError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_FIELDS))})")
    kind = item.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"{where}: kind must be one of {', '.join(FAULT_KINDS)}, got {kind!r}")
    try:
        n = int(item.get("n", 1))
        delta = Decimal(str(item.get("delta", "0.01")))
    except (TypeError, ValueError, InvalidOperation):
        raise FaultError(f"{where}: n must be an integer and delta a number") from None
    if n < 0:
        raise FaultError(f"{where}: n must be >= 0, got {n}")
    worker = item.get("worker")
    if kind in WORKER_FAULTS and not worker:
        raise FaultError(f"{where}: {kind} needs the worker it hits (e.g. \"w01\")")
    return BatchFault(kind=kind, n=n, worker=str(worker) if worker else None, delta=delta)


def merge_loss(faults: Iterable[BatchFault]) -> int:
    """How many staging rows the MERGE is told to leave out (0 without that fault)."""
    return sum(f.n for f in faults if f.kind == "merge_loses_rows")


def describe(faults: Iterable[BatchFault]) -> list[dict[str, str]]:
    return [{"kind": f.kind, "n": str(f.n), **({"worker": f.worker} if f.worker else {})} for f in faults]
