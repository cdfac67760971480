"""The ledger sensor's condition: when a parent scope's batches have passed, failed, or not yet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recon_operators.sensors.condition import (
    FAILED,
    PASSED,
    WAITING,
    batch_of,
    evaluate,
    normalise_batches,
    this_run_only,
)

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
PARENT = "cohort_id=C1;env=dev;prefix=62811;stage=mr1"


def row(batch: str | None, check: str = "row_count", status: str = "Match", **extra) -> dict:
    key = PARENT if batch is None else f"batch_id={batch};{PARENT}"
    return {
        "scope_key": key,
        "suite": "mini_recon_1",
        "check_name": check,
        "status": status,
        "group_key": None,
        "expected": "100",
        "actual": "100",
        "message": None,
        **extra,
    }


def batches(*ids: str, status: str = "Match") -> list[dict]:
    return [r for b in ids for r in (row(b), row(b, "balance_sum", status))]


def test_imports_no_airflow():
    # The sensors package's lazy __init__ keeps the condition usable where Airflow is not.
    code = (
        "import sys, recon_operators.sensors.condition; "
        "sys.exit(any(m.split('.')[0] == 'airflow' for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ))
    assert done.returncode == 0


def test_all_expected_batches_match_passes():
    state, detail = evaluate(batches("1", "2", "3"), ["1", "2", "3"])
    assert state == PASSED
    assert detail["batches"] == ["1", "2", "3"] and detail["checks"] == 6 and detail["missing"] == []
    assert detail["message"] == "all 3 batch(es) passed, 6 check result(s) Match"


def test_one_missing_batch_waits_and_names_it():
    state, detail = evaluate(batches("1", "3"), ["1", "2", "3"])
    assert state == WAITING
    assert detail["missing"] == ["2"]
    assert detail["message"] == "waiting for 1 of 3 batch(es): 2"


def test_no_rows_at_all_waits():
    assert evaluate([], ["1"])[0] == WAITING
    assert evaluate([], [])[0] == WAITING


def test_one_mismatch_fails_fast_naming_batch_and_check():
    rows = batches("1", "3") + [row("2"), row("2", "balance_sum", "Mismatch", expected="1000.10", actual="1000.11")]
    # Batch 4 is still missing: a failed batch decides the gate without waiting for it.
    state, detail = evaluate(rows, ["1", "2", "3", "4"])
    assert state == FAILED
    assert detail["message"] == "1 batch(es) failed: batch 2: balance_sum Mismatch (expected 1000.10, actual 1000.11)"
    assert detail["failed"] == [
        {
            "batch_id": "2",
            "scope_key": None,
            "failed_checks": 1,
            "checks": [
                {
                    "check": "balance_sum",
                    "group": None,
                    "status": "Mismatch",
                    "expected": "1000.10",
                    "actual": "1000.11",
                    "message": None,
                }
            ],
        }
    ]
    assert detail["missing"] == ["4"]


def test_error_fails_and_groups_are_named():
    rows = batches("1") + [
        row("2", "status_count", "Error", group_key="ACTIVE", expected=None, actual=None, message="stage table missing")
    ]
    state, detail = evaluate(rows, ["1", "2"])
    assert state == FAILED
    assert detail["message"] == "1 batch(es) failed: batch 2: status_count[ACTIVE] Error"
    assert detail["failed"][0]["checks"][0]["message"] == "stage table missing"


def test_several_failures_are_listed_in_natural_order_and_capped():
    rows = [row(str(b), status="Mismatch") for b in (10, 2, 7, 1, 3, 4, 5)]
    state, detail = evaluate(rows, [])
    assert state == FAILED
    assert detail["message"].startswith("7 batch(es) failed: batch 1: row_count Mismatch")
    assert detail["message"].endswith("+2 more")
    assert [f["batch_id"] for f in detail["failed"]] == ["1", "2", "3", "4", "5", "7", "10"]


def test_empty_expected_list_waits_for_a_first_batch_then_passes_on_all_present():
    assert evaluate([], None) == (
        WAITING,
        {
            "batches": [],
            "expected": [],
            "missing": [],
            "unexpected": [],
            "checks": 0,
            "message": "waiting for the first batch's results",
        },
    )
    state, detail = evaluate(batches("5", "6"), [])
    assert state == PASSED and detail["batches"] == ["5", "6"] and detail["unexpected"] == []


def test_empty_expected_list_still_fails_on_any_mismatch():
    assert evaluate(batches("5") + batches("6", status="Mismatch"), [])[0] == FAILED


def test_extra_unexpected_batch_that_matches_is_reported_not_blocking():
    state, detail = evaluate(batches("1", "2", "9"), ["1", "2"])
    assert state == PASSED
    assert detail["unexpected"] == ["9"]
    assert detail["message"].endswith("(+1 unexpected: 9)")


def test_extra_unexpected_batch_that_mismatches_fails():
    state, detail = evaluate(batches("1", "2") + batches("9", status="Mismatch"), ["1", "2"])
    assert state == FAILED and detail["failed"][0]["batch_id"] == "9"


def test_parent_scope_rows_cannot_complete_a_batch_but_can_fail_it():
    assert evaluate([row(None)], [])[0] == WAITING
    state, detail = evaluate(batches("1") + [row(None, status="Mismatch")], ["1"])
    assert state == FAILED
    assert detail["failed"][0] == {**detail["failed"][0], "batch_id": None, "scope_key": PARENT}
    assert detail["message"].startswith(f"1 batch(es) failed: scope {PARENT}: row_count Mismatch")


def test_batch_id_column_wins_over_scope_key():
    assert batch_of({"batch_id": 7, "scope_key": "batch_id=8;env=dev"}) == "7"
    assert batch_of({"scope_key": "batch_id=8;env=dev"}) == "8"
    assert batch_of({"scope_key": "env=dev"}) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, []),
        ("", []),
        ("None", []),
        ("[]", []),
        (["1", 2, " 3 "], ["1", "2", "3"]),
        ('["1", "2"]', ["1", "2"]),
        ("['1', '2']", ["1", "2"]),  # how Jinja renders a list param without native rendering
        ("[1, 2, 2]", ["1", "2"]),
        ("1, 2,3", ["1", "2", "3"]),
        ("1 2", ["1", "2"]),
        ("7", ["7"]),
        (7, ["7"]),
    ],
)
def test_expected_batches_are_normalised_to_unique_strings(value, expected):
    assert normalise_batches(value) == expected


def test_unparseable_list_is_a_clear_error():
    with pytest.raises(ValueError, match="neither a JSON nor a Python list"):
        normalise_batches("[1, 2")


def test_present_mode_passes_once_every_batch_reported_even_with_mismatches():
    rows = batches("1") + batches("2", status="Mismatch")
    state, detail = evaluate(rows, ["1", "2"], "present")
    assert state == PASSED
    assert detail["failed_count"] == 1
    assert detail["message"] == (
        "all 2 batch(es) reported; 1 batch(es) failed: batch 2: balance_sum Mismatch (expected 100, actual 100)"
    )


def test_present_mode_still_waits_for_a_missing_batch_after_a_mismatch():
    state, detail = evaluate(batches("2", status="Mismatch"), ["1", "2"], "present")
    assert state == WAITING and detail["missing"] == ["1"]


def test_present_mode_with_all_matching_reads_like_match_mode():
    assert evaluate(batches("1", "2"), ["1", "2"], "present") == evaluate(batches("1", "2"), ["1", "2"])


def test_unknown_requirement_is_refused():
    with pytest.raises(ValueError, match="require 'all' must be one of match, present"):
        evaluate([], [], "all")


def test_rerun_batches_count_only_rows_of_this_run():
    old = [dict(r, run_id="d/old/t/0") for r in batches("1", "2")]
    new = [dict(r, run_id="d/new/t/1") for r in batches("2")]
    kept = this_run_only(old, ["2"], "d/new/")
    assert {batch_of(r) for r in kept} == {"1"}  # batch 2's earlier rows no longer count
    assert evaluate(kept, ["1", "2"])[0] == WAITING
    assert evaluate(this_run_only(old[:2] + new, "2", "d/new/"), ["1", "2"])[0] == PASSED
