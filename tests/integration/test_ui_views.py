"""The reconciliation view's reads against a real store: counts per scope, newest decisions,
run history with replaced rows, claims days."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from recon_operators.engine.results import CheckResult, Status, utcnow
from recon_operators.engine.scope import Scope
from recon_operators.store import ResultsStore, views

pytestmark = pytest.mark.integration


@pytest.fixture
def store(store_dsn):
    with ResultsStore.from_dsn(store_dsn) as opened:
        yield opened


def result(name: str, discrepancy: str | None = None, status: Status = Status.MATCH) -> CheckResult:
    now = utcnow()
    return CheckResult(
        check_name=name,
        kind="sum",
        status=status,
        expected="10",
        actual="10",
        discrepancy=None if discrepancy is None else Decimal(discrepancy),
        started_at=now,
        finished_at=now,
    )


def record(store: ResultsStore, scope: Scope, run_id: str, results: list[CheckResult]) -> None:
    handle = store.open_run(scope, "suite_a", process_name="test", run_id=run_id)
    store.record_results(handle, results)


def test_counts_decisions_and_history_of_a_cohort(store):
    env, cohort = "view", f"V{uuid.uuid4().hex[:6]}"
    batch = {b: Scope(env=env, cohort_id=cohort, prefix="62811", batch_id=b, stage="mini_recon_1") for b in ("1", "2")}
    # Run 1: both batches clean. Run 2: batch 1 drifts by 0.03; batch 2 is not rerun.
    for b in ("1", "2"):
        record(store, batch[b], f"dag_v/run_1/mr1/{b}", [result("total", "0"), result("rows", "0")])
    record(store, batch["1"], "dag_v/run_2/mr1/1", [result("total", "0.03", Status.MISMATCH), result("rows", "0")])
    # A retry inside run 2 replaces its own rows: not a run of its own in the history.
    record(store, batch["1"], "dag_v/run_2/mr1/1", [result("total", "0.03", Status.MISMATCH), result("rows", "0")])
    gate = Scope(env=env, cohort_id=cohort, stage="mini_recon_1")
    store.record_gate_decision(gate, policy="stop", verdict="Match", outcome="Passed", run_id="dag_v/run_1")
    store.record_gate_decision(gate, policy="stop", verdict="Mismatch", outcome="Blocked", run_id="dag_v/run_2")

    counts = views.scope_counts(store.conn, {"env": env, "cohort_id": cohort})
    by_batch = {r["batch_id"]: r for r in counts}
    assert (by_batch["1"]["total"], by_batch["1"]["mismatched"], by_batch["1"]["last_run_id"]) == (
        2,
        1,
        "dag_v/run_2/mr1/1",
    )
    assert (by_batch["2"]["matched"], by_batch["2"]["last_run_id"]) == (2, "dag_v/run_1/mr1/2")
    assert views.scope_counts(store.conn, {"env": env, "cohort_id": cohort}, views.Window(until=date(2000, 1, 1))) == []

    latest = views.gate_decisions(store.conn, {"env": env, "cohort_id": cohort}, latest_only=True)
    assert [d["outcome"] for d in latest] == ["Blocked"]
    assert [d["outcome"] for d in views.gate_decisions(store.conn, {"env": env, "cohort_id": cohort})] == [
        "Blocked",
        "Passed",
    ]

    history = views.run_history(
        store.conn, {"env": env, "cohort_id": cohort, "stage": "mini_recon_1"}, suite="suite_a", check_name="total"
    )
    assert [(h["dag_id"], h["dag_run_id"], h["total"], h["discrepancy"]) for h in history] == [
        ("dag_v", "run_1", 2, Decimal("0")),
        ("dag_v", "run_2", 1, Decimal("0.03")),
    ]
    everything = views.run_history(store.conn, {"env": env, "cohort_id": cohort})
    assert [(h["total"], h["matched"]) for h in everything] == [(4, 4), (2, 1)]


def test_claims_days_with_their_totals(store):
    conn = store.conn
    run_id = f"claims_view_{uuid.uuid4().hex[:6]}"
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO metrics.pipeline_run_log (run_id, dataset, run_date, status) "
            "VALUES (%s, 'view_claims', '2026-02-01', 'SUCCESS')",
            (run_id,),
        )
        cur.execute(
            "INSERT INTO metrics.recon_summary (run_id, dataset, run_date, old_rows, new_rows, changed_rows) "
            "VALUES (%s, 'view_claims', '2026-02-01', 10, 10, 1)",
            (run_id,),
        )
        cur.execute("INSERT INTO metrics.mismatch_by_column VALUES (%s, '2026-02-01', 'amount', 1)", (run_id,))
        cur.execute(
            "INSERT INTO metrics.mismatch_detail_sample (run_id, run_date, key_text, payload) "
            "VALUES (%s, '2026-02-01', '6281234567890', '{\"amount\": \"1~2\"}')",
            (run_id,),
        )
    conn.commit()
    (day,) = views.claims_days(conn, dataset="view_claims", run_date=date(2026, 2, 1))
    assert (day["status"], day["changed_rows"]) == ("SUCCESS", 1)
    assert views.claims_days(conn, views.Window(since=date(2026, 2, 2)), dataset="view_claims") == []
    assert views.claims_columns(conn, run_id) == [{"column_name": "amount", "mismatch_count": 1}]
    assert views.claims_samples(conn, run_id)[0]["key_text"] == "6281234567890"  # stored as is; the page masks
