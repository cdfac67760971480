"""What a cell of the reconciliation view says, from ledger counts, gate decisions and task states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recon_operators.ui.charts import Series, line_chart
from recon_operators.ui.matrix import (
    Counts,
    RunRef,
    cohort_row,
    hop_of,
    latest_decisions,
    load_cell,
    recon_cell,
    scope_tree,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def counts(total=10, matched=10, mismatched=0, errored=0, at=T0, run="dag_b/run_2/mini_recon_1__suite/0"):
    return Counts(total, matched, mismatched, errored, at - timedelta(minutes=1), at, run)


def decision(outcome, at=T0 + timedelta(seconds=5), by=None):
    return {"outcome": outcome, "decided_at": at, "decided_by": by}


@pytest.mark.parametrize(
    "outcome, status, label",
    [
        ("Passed", "Match", "Match"),
        ("Approved", "Approved", "Approved"),
        ("Blocked", "Blocked", "Blocked"),
        ("Rejected", "Blocked", "Rejected"),
        ("TimedOut", "Blocked", "Timed out"),
        ("Warned", "Mismatch", "Warned"),
        ("Failed", "Mismatch", "Failed"),
    ],
)
def test_a_gate_decision_after_the_results_colours_the_cell(outcome, status, label):
    cell = recon_cell("mini_recon_1", counts(matched=7, mismatched=3), decision(outcome))
    assert (cell.status, cell.label, cell.failed, cell.total) == (status, label, 3, 10)


def test_results_newer_than_the_decision_speak_for_themselves():
    """A rerun recorded new results and its gate has not decided yet: the old Blocked is history."""
    cell = recon_cell("mini_recon_1", counts(), decision("Blocked", at=T0 - timedelta(hours=1)))
    assert (cell.status, cell.label) == ("Match", "Match")


def test_verdict_without_a_decision_and_the_approval_wait():
    assert recon_cell("mini_recon_2", None).status == "Missing"
    assert recon_cell("mini_recon_2", counts(matched=9, errored=1)).status == "Error"
    waiting = recon_cell("mini_recon_2", counts(matched=8, mismatched=2), awaiting_approval=True)
    assert (waiting.status, waiting.label, waiting.awaiting_approval) == ("Mismatch", "Awaiting approval", True)
    approved = recon_cell("mini_recon_2", counts(matched=8, mismatched=2), decision("Approved", by="owner@example.com"))
    assert (approved.status, approved.note) == ("Approved", "by owner@example.com")


@pytest.mark.parametrize(
    "states, status, label",
    [
        (["success", "success"], "Match", "Loaded"),
        (["skipped", "skipped"], "Missing", "Not run"),
        # A stop gate fails and the loads after it end upstream_failed: they never ran, nothing failed there.
        (["upstream_failed", "upstream_failed"], "Missing", "Not run"),
        (["success", "failed"], "Error", "Load failed"),
        (["success", "running"], "Missing", "Running"),
        ([], "Missing", "Missing"),
    ],
)
def test_load_hops_follow_their_tasks(states, status, label):
    assert (load_cell("stage", states).status, load_cell("stage", states).label) == (status, label)


def test_tasks_map_to_their_hops():
    assert hop_of("load_transform") == "transform" and hop_of("gate_mini_recon_1") == "mini_recon_1"
    assert hop_of("mini_recon_3__data_prep_brm") == "mini_recon_3" and hop_of("wait_brm_extract") == "mini_recon_3"
    assert hop_of("select_batches") is None and hop_of("recon_outcome") is None and hop_of("load_elsewhere") is None


def test_run_refs_from_ledger_and_decision_run_ids():
    assert RunRef.parse("dag/manual__1/task/3") == RunRef("dag", "manual__1", "task", 3)
    assert RunRef.parse("recon-1234") == RunRef(None, None)
    assert RunRef.of_decision("dag/manual__1", "gate_mini_recon_1") == RunRef("dag", "manual__1", "gate_mini_recon_1")


def _row(stage, run, mismatched=0, prefix="62811", batch="B001"):
    return {
        "stage": stage,
        "prefix": prefix,
        "batch_id": batch,
        "total": 4,
        "matched": 4 - mismatched,
        "mismatched": mismatched,
        "errored": 0,
        "started_at": T0,
        "finished_at": T0,
        "last_run_id": f"d/{run}/t",
    }


def test_a_blocked_cohort_row_marks_what_its_newest_run_did_not_reach():
    rows = [_row("mini_recon_1", "run_2", mismatched=2), _row("mini_recon_2", "run_1")]
    gate = {"scope": {"env": "demo", "cohort_id": "B"}, "stage": "mini_recon_1", **decision("Blocked")}
    decisions = latest_decisions([gate])
    own = {stage: d for (_, _, stage), d in decisions.items()}
    row = cohort_row(
        "demo",
        "B",
        rows,
        own,
        {"transform": ["success"] * 2, "stage": ["upstream_failed"] * 2},
        dag_run={"run_id": "run_2", "state": "failed"},
    )
    cells = {c.hop: c for c in row.cells}
    assert cells["mini_recon_1"].status == "Blocked" and row.blocked_at == "Mini Recon 1"
    assert (cells["mini_recon_2"].label, cells["mini_recon_2"].note) == ("Not run", "earlier run: Match")
    assert cells["transform"].label == "Loaded" and cells["stage"].label == "Not run"
    assert cells["target"].status == "Missing" and row.failed == 2


def test_latest_decisions_keep_the_newest_cohort_level_one():
    old = {"scope": {"env": "e", "cohort_id": "A"}, "stage": "mini_recon_2", **decision("Blocked", at=T0)}
    new = {**old, **decision("Approved", at=T0 + timedelta(minutes=5))}
    batch_level = {
        "scope": {"env": "e", "cohort_id": "A", "batch_id": "1"},
        "stage": "mini_recon_2",
        **decision("Passed", at=T0 + timedelta(hours=1)),
    }
    assert latest_decisions([old, new, batch_level])[("e", "A", "mini_recon_2")]["outcome"] == "Approved"


def test_scope_tree_rolls_batches_under_their_prefix():
    tree = scope_tree(
        [
            _row("mini_recon_1", "r", prefix="62811", batch="B002"),
            _row("mini_recon_1", "r"),
            _row("overall_summary", "r", prefix=None, batch=None),
        ]
    )
    assert [(line["prefix"], line["batch_id"]) for line in tree] == [
        (None, None),
        ("62811", None),
        ("62811", "B001"),
        ("62811", "B002"),
    ]


def test_line_chart_draws_every_point_and_escapes_labels():
    svg = line_chart(
        "Discrepancy <b>",
        ["run_1", "run_2", "run_3"],
        [Series("pulsa & co", [0, 0.03, None]), Series("count", [1, 2, 3])],
        y_label="x",
    )
    assert svg.startswith("<svg") and svg.count('class="chart-point"') == 5
    assert "<b>" not in svg and "Discrepancy &lt;b&gt;" in svg and "pulsa &amp; co" in svg
    assert "no runs recorded yet" in line_chart("empty", [], [Series("s", [])])


def test_scope_tree_marks_what_an_earlier_run_left_behind():
    """Cohort B's newest run stopped at Mini Recon 1: the batch lines' Mini Recon 2 results come
    from an earlier run and must not read as this run's Match."""
    rows = [_row("mini_recon_1", "run_2", mismatched=1), _row("mini_recon_2", "run_1")]
    line = next(line for line in scope_tree(rows, "run_2") if line["batch_id"] == "B001")
    assert line["earlier"] == {"mini_recon_2"}
    assert all(not line["earlier"] for line in scope_tree(rows))  # no newest run known: nothing marked
