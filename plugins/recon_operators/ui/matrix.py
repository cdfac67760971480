"""What each cell of the reconciliation view says: plain Python over ledger rows and task states.

A cohort is a row and its hops are columns. A reconciliation hop (Mini Recon 1..3, Overall, ETL
report) is coloured by the ledger: its gate's newest decision when that decision came after the
results it judged, else the results themselves. A load hop (Transform, Stage, Target) records
nothing in the ledger, so it is coloured by its Airflow tasks in the cohort's newest run: a load
a stop gate kept from running (skipped or upstream_failed) shows "Not run" next to the gate that says Blocked.
No Airflow imports: the api-server plugin feeds it, the unit tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Pipeline order, as the cohort factory builds it (config.cohorts.STAGES).
HOPS: tuple[tuple[str, str], ...] = (
    ("transform", "Transform"),
    ("mini_recon_1", "Mini Recon 1"),
    ("stage", "Stage"),
    ("mini_recon_2", "Mini Recon 2"),
    ("target", "Target"),
    ("mini_recon_3", "Mini Recon 3"),
    ("overall_summary", "Overall"),
    ("etl_stage_report", "ETL report"),
)
HOP_LABELS = dict(HOPS)
LOAD_HOPS = ("transform", "stage", "target")
STATUSES = ("Match", "Mismatch", "Error", "Missing", "Approved", "Blocked")

# Gate outcome -> the cell's status (and label when it says more than the status).
_OUTCOMES: dict[str, tuple[str, str]] = {
    "Passed": ("Match", "Match"),
    "Approved": ("Approved", "Approved"),
    "Blocked": ("Blocked", "Blocked"),
    "Rejected": ("Blocked", "Rejected"),
    "TimedOut": ("Blocked", "Timed out"),
    "Warned": ("Mismatch", "Warned"),
}
_RUNNING_STATES = {"running", "queued", "scheduled", "deferred", "up_for_retry", "up_for_reschedule", "restarting"}


def hop_of(task_id: str) -> str | None:
    """The hop a cohort DAG task belongs to: ``load_stage`` -> stage, ``gate_mini_recon_1`` and
    ``mini_recon_1__cohort_mini_recon_1`` -> mini_recon_1; the BRM sensor waits for Mini Recon 3."""
    if task_id == "wait_brm_extract":
        return "mini_recon_3"
    for head in ("load_", "gate_"):
        if task_id.startswith(head) and task_id[len(head) :] in HOP_LABELS:
            return task_id[len(head) :]
    stage = task_id.split("__", 1)[0]
    return stage if "__" in task_id and stage in HOP_LABELS else None


@dataclass(frozen=True)
class RunRef:
    """Where a ledger row came from: ``dag/run/task[/map_index]`` for Airflow tasks."""

    dag_id: str | None
    dag_run_id: str | None
    task_id: str | None = None
    map_index: int | None = None

    @classmethod
    def parse(cls, run_id: str | None) -> RunRef:
        parts = (run_id or "").split("/")
        if len(parts) < 3:
            return cls(None, None)
        map_index = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
        return cls(parts[0], parts[1], parts[2], map_index)

    @classmethod
    def of_decision(cls, run_id: str | None, gate_task: str | None) -> RunRef:
        """Gate decisions store ``dag/run`` and name their task in the summary."""
        dag_id, _, dag_run_id = (run_id or "").partition("/")
        return cls(dag_id or None, dag_run_id or None, gate_task)


@dataclass
class Counts:
    """Results of a scope, counted: the numbers behind a cell."""

    total: int = 0
    matched: int = 0
    mismatched: int = 0
    errored: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_run_id: str | None = None

    @property
    def failed(self) -> int:
        return self.mismatched + self.errored

    @property
    def status(self) -> str:
        """Error beats Mismatch beats Match; nothing recorded is Missing, never a pass."""
        if not self.total:
            return "Missing"
        return "Error" if self.errored else "Mismatch" if self.mismatched else "Match"

    @property
    def match_pct(self) -> float | None:
        return None if not self.total else 100.0 * self.matched / self.total

    def add(self, row: Mapping[str, Any]) -> Counts:
        """Fold in one ``scope_counts`` row; the newest row names the run."""
        self.total += row["total"]
        self.matched += row["matched"]
        self.mismatched += row["mismatched"]
        self.errored += row["errored"]
        if row.get("started_at") and (self.started_at is None or row["started_at"] < self.started_at):
            self.started_at = row["started_at"]
        if row.get("finished_at") and (self.finished_at is None or row["finished_at"] > self.finished_at):
            self.finished_at = row["finished_at"]
            self.last_run_id = row.get("last_run_id")
        return self

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> Counts:
        counts = cls()
        for row in rows:
            counts.add(row)
        return counts


@dataclass
class Cell:
    hop: str
    status: str  # one of STATUSES
    label: str
    failed: int = 0
    total: int = 0
    note: str = ""
    decision: Mapping[str, Any] | None = None
    awaiting_approval: bool = False

    @property
    def css(self) -> str:
        return self.status.lower()


def recon_cell(
    hop: str, counts: Counts | None, decision: Mapping[str, Any] | None = None, awaiting_approval: bool = False
) -> Cell:
    """A reconciliation hop: the gate's decision if it judged these results, else the results."""
    counts = counts or Counts()
    cell = Cell(hop, counts.status, counts.status, failed=counts.failed, total=counts.total, decision=decision)
    decided_after = decision is not None and (
        counts.finished_at is None or decision["decided_at"] >= counts.finished_at
    )
    if decided_after:
        assert decision is not None
        outcome = decision["outcome"]
        if outcome == "Failed":
            cell.status, cell.label = (counts.status if counts.failed else "Error"), "Failed"
        else:
            cell.status, cell.label = _OUTCOMES.get(outcome, (counts.status, outcome))
        if outcome == "Approved" and decision.get("decided_by"):
            cell.note = f"by {decision['decided_by']}"
    elif awaiting_approval:
        cell.label, cell.awaiting_approval = "Awaiting approval", True
    return cell


def load_cell(hop: str, states: Iterable[str]) -> Cell:
    """A load hop, from the states of its (mapped) tasks in the cohort's newest run."""
    states = [str(s) for s in states if s]
    if not states:
        return Cell(hop, "Missing", "Missing")
    if "failed" in states:  # upstream_failed: a gate before it stopped the run, this hop never ran
        return Cell(hop, "Error", "Load failed", failed=states.count("failed"), total=len(states))
    if all(s == "success" for s in states):
        return Cell(hop, "Match", "Loaded", total=len(states))
    if any(s in _RUNNING_STATES for s in states):
        return Cell(hop, "Missing", "Running", total=len(states))
    return Cell(hop, "Missing", "Not run", total=len(states), note="stopped upstream")


@dataclass
class CohortRow:
    env: str
    cohort_id: str
    dag_id: str | None
    dag_run_id: str | None
    cells: list[Cell] = field(default_factory=list)
    finished_at: datetime | None = None
    run_state: str | None = None
    awaiting_tasks: Mapping[str, str] = field(default_factory=dict)  # hop -> its gate task waiting for a human

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.cells if c.hop not in LOAD_HOPS)

    @property
    def blocked_at(self) -> str | None:
        return next((HOP_LABELS[c.hop] for c in self.cells if c.status == "Blocked"), None)


def cohort_keys(counts_rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """``scope_counts`` rows grouped by (env, cohort_id); rows of batch-load jobs left out."""
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in counts_rows:
        if row.get("cohort_id"):
            grouped.setdefault((row["env"], row["cohort_id"]), []).append(row)
    return grouped


def latest_decisions(decisions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """The newest cohort-level decision per (env, cohort_id, stage); prefix or batch gates aside."""
    latest: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for decision in decisions:
        scope = decision["scope"]
        if not scope.get("cohort_id") or scope.get("prefix") or scope.get("batch_id") or not decision.get("stage"):
            continue
        key = (scope["env"], scope["cohort_id"], decision["stage"])
        if key not in latest or decision["decided_at"] > latest[key]["decided_at"]:
            latest[key] = decision
    return latest


def cohort_row(
    env: str,
    cohort_id: str,
    rows: list[Mapping[str, Any]],
    decisions: Mapping[str, Mapping[str, Any]],
    task_states: Mapping[str, list[str]],
    awaiting: Mapping[str, str] | None = None,
    dag_id: str | None = None,
    dag_run: Mapping[str, Any] | None = None,
) -> CohortRow:
    """One cohort's row: ``rows`` its scope counts, ``decisions`` the newest per stage,
    ``task_states`` the newest DAG run's task states per hop, ``awaiting`` the gate task of each
    hop waiting for a human."""
    by_stage: dict[str, Counts] = {}
    for row in rows:
        by_stage.setdefault(row["stage"], Counts()).add(row)
    overall = Counts.of(rows)
    ref = RunRef.parse(overall.last_run_id)
    row = CohortRow(
        env,
        cohort_id,
        dag_id or ref.dag_id,
        (dag_run or {}).get("run_id") or ref.dag_run_id,
        finished_at=overall.finished_at,
        run_state=(dag_run or {}).get("state"),
        awaiting_tasks=dict(awaiting or {}),
    )
    for hop, _ in HOPS:
        if hop in LOAD_HOPS:
            row.cells.append(load_cell(hop, task_states.get(hop, [])))
        else:
            cell = recon_cell(hop, by_stage.get(hop), decisions.get(hop), hop in row.awaiting_tasks)
            row.cells.append(_unless_stale(cell, by_stage.get(hop), row.dag_run_id))
    return row


def _unless_stale(cell: Cell, counts: Counts | None, newest_run: str | None) -> Cell:
    """Results an earlier run left behind say nothing about the newest run: the hop did not run
    in it (yet, or because a gate stopped it), so the cell says so and what the earlier run found."""
    written_by = RunRef.parse(counts.last_run_id).dag_run_id if counts else None
    if newest_run is None or written_by is None or written_by == newest_run:
        return cell
    return Cell(cell.hop, "Missing", "Not run", note=f"earlier run: {cell.label}")


def scope_tree(rows: Iterable[Mapping[str, Any]], newest_run: str | None = None) -> list[dict[str, Any]]:
    """A cohort's results as prefix -> batch lines, each with Counts per stage: the drill-down matrix.
    Prefix-level results (a prefix summary) sit on the prefix line, cohort-level ones on the first.
    ``earlier`` names a line's stages whose results an earlier run than ``newest_run`` left behind
    (as ``_unless_stale`` marks the cohort row): they say nothing about the newest run."""
    lines: dict[tuple[str | None, str | None], dict[str, Counts]] = {}
    for row in rows:
        key = (row.get("prefix"), row.get("batch_id"))
        lines.setdefault(key, {}).setdefault(row["stage"], Counts()).add(row)
        if row.get("batch_id"):  # roll batches up into their prefix line too
            lines.setdefault((row.get("prefix"), None), {})
    ordered = sorted(lines, key=lambda k: (k[0] is not None, k[0] or "", k[1] is not None, k[1] or ""))

    def earlier(stages: dict[str, Counts]) -> set[str]:
        if newest_run is None:
            return set()
        return {
            stage
            for stage, counts in stages.items()
            if (written_by := RunRef.parse(counts.last_run_id).dag_run_id) and written_by != newest_run
        }

    return [
        {"prefix": p, "batch_id": b, "stages": lines[(p, b)], "earlier": earlier(lines[(p, b)])} for p, b in ordered
    ]
