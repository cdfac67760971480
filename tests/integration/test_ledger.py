"""The results ledger on real Postgres: runs, per-scope replacement, atomic writes, verdicts."""

from __future__ import annotations

import uuid
from decimal import Decimal

import psycopg2
import pytest

from recon_operators.engine.results import CheckResult, Status
from recon_operators.engine.scope import Scope
from recon_operators.store import ResultsStore, StoreError

pytestmark = pytest.mark.integration


@pytest.fixture
def store(store_dsn):
    with ResultsStore.from_dsn(store_dsn) as s:
        yield s


@pytest.fixture
def cohort() -> str:
    """A cohort id of this test's own, so tests sharing the session store never collide."""
    return f"C{uuid.uuid4().hex[:8]}"


def _count(dsn: str, sql: str, *params) -> int:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    finally:
        conn.close()


def _results(tag: str, *, mismatch: bool = False) -> list[CheckResult]:
    return [
        CheckResult(
            "row_count",
            "row_count",
            Status.MATCH,
            expected=100,
            actual=100,
            discrepancy=0,
            source={"table": "transform.subscribers"},
            target={"table": "stage.subscribers"},
            details={"tag": tag},
        ),
        CheckResult(
            "balance_sum",
            "sum",
            Status.MISMATCH if mismatch else Status.MATCH,
            expected=Decimal("1000.10"),
            actual=Decimal("1000.11") if mismatch else Decimal("1000.10"),
            discrepancy=Decimal("0.01") if mismatch else Decimal("0"),
            tolerance={"abs": "0"},
            details={"tag": tag},
        ),
        CheckResult(
            "status_count",
            "row_count",
            Status.MATCH,
            group="ACTIVE",
            expected=60,
            actual=60,
            discrepancy=0,
            details={"tag": tag},
        ),
    ]


def test_open_record_finish_and_verdict(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, prefix="62811", batch_id="1", stage="mr1")
    run = store.open_run(scope, "mini_recon_1", process_name="Transformation", entity_name="Mini Recon 1")
    assert (
        _count(
            store_dsn,
            "SELECT count(*) FROM \"Migration\".log_table WHERE run_id = %s AND status = 'In Progress'"
            " AND end_time IS NULL AND cohort_id = %s",
            run.run_id,
            cohort,
        )
        == 1
    )
    assert store.record_results(run, _results("first", mismatch=True)) == 3
    store.finish_run(run, "Passed")
    assert (
        _count(
            store_dsn,
            "SELECT count(*) FROM \"Migration\".log_table WHERE run_id = %s AND status = 'Passed'"
            " AND end_time IS NOT NULL",
            run.run_id,
        )
        == 1
    )

    verdict = store.verdict(scope)
    assert (verdict.status, verdict.total, verdict.matched, verdict.mismatched) == ("Mismatch", 3, 2, 1)
    failed = verdict.failed_checks[0]
    assert (failed["check_name"], failed["expected"], failed["actual"]) == ("balance_sum", "1000.10", "1000.11")
    assert failed["discrepancy"] == Decimal("0.01")  # exact, never float


def test_failed_run_keeps_its_error_and_end_time(store, store_dsn, cohort):
    run = store.open_run(Scope(env="dev", cohort_id=cohort), "mini_recon_2", process_name="Stage")
    store.finish_run(run, "Failed", error="stage table stage.subscribers does not exist")
    assert (
        _count(
            store_dsn,
            "SELECT count(*) FROM \"Migration\".log_table WHERE run_id = %s AND status = 'Failed'"
            " AND error LIKE 'stage table%%' AND end_time IS NOT NULL",
            run.run_id,
        )
        == 1
    )
    with pytest.raises(ValueError, match="run status"):
        store.finish_run(run, "Done")


def test_rerun_of_one_scope_replaces_only_that_scopes_rows(store, store_dsn, cohort):
    batch1 = Scope(env="dev", cohort_id=cohort, prefix="62811", batch_id="1", stage="mr1")
    batch2 = Scope(env="dev", cohort_id=cohort, prefix="62811", batch_id="2", stage="mr1")
    other_suite_run = store.open_run(batch1, "business_rules", process_name="Transformation")
    store.record_results(other_suite_run, _results("rules"))
    for scope in (batch1, batch2):
        store.record_results(
            store.open_run(scope, "mini_recon_1", process_name="Transformation"), _results("first", mismatch=True)
        )

    rerun = store.open_run(batch1, "mini_recon_1", process_name="Transformation")
    store.record_results(rerun, _results("rerun"))

    rows = store.results(Scope(env="dev", cohort_id=cohort), with_children=True)
    by_scope_suite = {}
    for row in rows:
        by_scope_suite.setdefault((row["scope_key"], row["suite"]), set()).add(row["run_id"])
    assert by_scope_suite[(batch1.key, "mini_recon_1")] == {rerun.run_id}
    assert (
        len(by_scope_suite[(batch2.key, "mini_recon_1")]) == 1
        and rerun.run_id not in by_scope_suite[(batch2.key, "mini_recon_1")]
    )
    assert by_scope_suite[(batch1.key, "business_rules")] == {other_suite_run.run_id}
    assert len(rows) == 9  # 3 checks x (batch1 rules, batch1 recon, batch2 recon): no duplicates
    assert store.verdict(batch1, "mini_recon_1").status == "Match"
    assert store.verdict(batch2, "mini_recon_1").status == "Mismatch"
    # The prefix as a whole still carries batch 2's mismatch.
    assert (
        store.verdict(Scope(env="dev", cohort_id=cohort, prefix="62811"), "mini_recon_1", with_children=True).status
        == "Mismatch"
    )
    # Nothing is lost: the replaced rows moved to history, stamped with the run that replaced them.
    assert (
        _count(
            store_dsn,
            "SELECT count(*) FROM recon.check_result_history WHERE scope_key = %s"
            " AND suite = 'mini_recon_1' AND superseded_by = %s",
            batch1.key,
            rerun.run_id,
        )
        == 3
    )


def test_error_in_the_middle_of_recording_leaves_no_partial_rows(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, batch_id="9", stage="mr1")
    good = store.open_run(scope, "mini_recon_1", process_name="Transformation")
    store.record_results(good, _results("good"))

    bad = store.open_run(scope, "mini_recon_1", process_name="Transformation")
    broken = _results("bad")
    # A legacy value with a NUL byte: Postgres refuses it, after the first rows were sent.
    broken.insert(2, CheckResult("sample_key", "row_diff", Status.MISMATCH, expected="62811\x00000", actual="x"))
    with pytest.raises(StoreError, match="recording results failed and was rolled back: .*NUL"):
        store.record_results(bad, broken)

    assert _count(store_dsn, "SELECT count(*) FROM recon.check_result WHERE run_id = %s", bad.run_id) == 0
    assert _count(store_dsn, "SELECT count(*) FROM recon.check_result WHERE run_id = %s", good.run_id) == 3
    assert (
        _count(store_dsn, "SELECT count(*) FROM recon.check_result_history WHERE superseded_by = %s", bad.run_id) == 0
    )
    assert store.verdict(scope).status == "Match"  # the previous verdict stands


def test_duplicate_check_in_one_recording_is_refused_whole(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, stage="mr2")
    run = store.open_run(scope, "mini_recon_2", process_name="Stage")
    twice = _results("dup") + _results("dup")[:1]
    with pytest.raises(StoreError, match="duplicate key"):
        store.record_results(run, twice)
    assert _count(store_dsn, "SELECT count(*) FROM recon.check_result WHERE scope_key = %s", scope.key) == 0


def test_no_results_is_missing_never_a_pass(store, cohort):
    assert store.verdict(Scope(env="dev", cohort_id=cohort, stage="mr3")).status == "Missing"


def test_error_result_outranks_mismatch(store, cohort):
    scope = Scope(env="dev", cohort_id=cohort, stage="mr1")
    run = store.open_run(scope, "s", process_name="Transformation")
    store.record_results(
        run,
        _results("x", mismatch=True)
        + [CheckResult("stage_count", "row_count", Status.ERROR, message="table stage.x does not exist")],
    )
    verdict = store.verdict(scope)
    assert verdict.status == "Error" and verdict.errored == 1 and verdict.mismatched == 1


def test_clear_scope_moves_rows_to_history(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, batch_id="4")
    store.record_results(store.open_run(scope, "s", process_name="Transformation"), _results("x"))
    assert store.clear_scope(scope, cleared_by="ops:rerun") == 3
    assert store.verdict(scope).status == "Missing"
    assert (
        _count(
            store_dsn,
            "SELECT count(*) FROM recon.check_result_history WHERE scope_key = %s AND superseded_by = 'ops:rerun'",
            scope.key,
        )
        == 3
    )


def test_gate_decisions_are_appended(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, stage="mr1")
    store.record_gate_decision(
        scope,
        policy="stop",
        verdict="Mismatch",
        outcome="Blocked",
        summary={"failed": ["balance_sum"], "discrepancy": Decimal("0.01")},
    )
    store.record_gate_decision(
        scope, policy="approve", verdict="Mismatch", outcome="Approved", decided_by="owner@example.com"
    )
    assert _count(store_dsn, "SELECT count(*) FROM recon.gate_decision WHERE scope_key = %s", scope.key) == 2


def test_finishing_an_unknown_run_is_an_error(store):
    from recon_operators.store import RunHandle

    ghost = RunHandle("never-opened", Scope(env="dev"), "s", "Transformation", "s")
    with pytest.raises(StoreError, match="not in the log"):
        store.finish_run(ghost, "Passed")


def test_unreachable_store_is_one_clear_line():
    with pytest.raises(StoreError, match=r"^cannot reach the results store: .*5999") as err:
        ResultsStore.from_dsn("postgresql://postgres@127.0.0.1:5999/nope").verdict(Scope(env="dev"))
    assert "\n" not in str(err.value)


def _log(dsn: str, run_id: str) -> tuple:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                'SELECT status, error, end_time IS NOT NULL FROM "Migration".log_table WHERE run_id = %s', (run_id,)
            )
            return cur.fetchone()
    finally:
        conn.close()


def test_run_lifecycle_records_finishes_and_reads_the_verdict(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, stage="mr1")
    with store.run(scope, "lifecycle", process_name="Transformation") as run:
        run.record(_results("one", mismatch=True))
    assert _log(store_dsn, run.run_id) == ("Passed", None, True)  # a mismatch is the gate's to judge
    assert (run.verdict.status, run.verdict.mismatched) == ("Mismatch", 1)


def test_run_with_error_results_is_failed_with_their_messages(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort, stage="mr1")
    unreadable = CheckResult("row_count", "row_count", Status.ERROR, message="cannot read 6281234567890")
    with store.run(scope, "errors", process_name="Transformation") as run:
        run.record([unreadable])
    status, error, ended = _log(store_dsn, run.run_id)
    assert (status, ended, run.verdict.status) == ("Failed", True, "Error")
    assert error.startswith("row_count: cannot read ") and "6281234567890" not in error


def test_run_that_raises_is_failed_with_one_masked_clipped_line_and_reraised(store, store_dsn, cohort):
    scope = Scope(env="dev", cohort_id=cohort)
    with pytest.raises(KeyError):
        with store.run(scope, "crash", process_name="Transformation") as run:
            raise KeyError("subscriber 6281234567890 " + "x" * 5000 + "\nsecond line")
    status, error, ended = _log(store_dsn, run.run_id)
    assert (status, ended) == ("Failed", True) and run.verdict is None
    assert error.startswith("KeyError: ") and "6281234567890" not in error
    assert len(error) == 2000 and "\n" not in error


def test_transaction_refuses_work_left_open_instead_of_dropping_it(store_dsn, cohort):
    """Rolling back a caller's uncommitted write would lose it silently; the store names it instead."""
    from recon_operators.store.db import transaction

    conn = psycopg2.connect(store_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE left_open (v text)")
            cur.execute("INSERT INTO left_open VALUES ('mine')")
        with pytest.raises(StoreError, match="open transaction; commit or roll it back first"):
            with transaction(conn):
                pass
        with conn.cursor() as cur:
            cur.execute("SELECT v FROM left_open")  # still there: nothing was rolled back
            assert cur.fetchall() == [("mine",)]
        conn.commit()
        with transaction(conn) as cur:
            cur.execute("SELECT count(*) FROM left_open")
            assert cur.fetchone() == (1,)
    finally:
        conn.close()
