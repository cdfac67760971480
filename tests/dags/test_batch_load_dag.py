"""The batch load DAG end to end through dag.test(): real files, real Postgres, faults via params.

Each test builds a job of its own (unique tables) from the shipped demo job files, so tests
never see each other's rows.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.airflow_helpers import query, run_test, task_states, xcom

pytestmark = pytest.mark.dags

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "include/config/batch_jobs"


def make_job(tmp_path: Path, template: str = "accounts_fixed_width.yaml", **changes) -> Path:
    """A shipped demo job with a name and tables of its own, its source path made absolute."""
    config = yaml.safe_load((JOBS / template).read_text())
    name = f"t{uuid.uuid4().hex[:8]}"
    config["job"] = name
    config["env"] = "test"
    config["source"]["path"] = str((JOBS / config["source"]["path"]).resolve())
    config["tables"] = {"schema": "batch_test", "staging": f"stg_{name}", "final": f"final_{name}"}
    config["retries"] = 0
    config.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def build(path: Path):
    """The job's DAG as a drill: its worker and MERGE wrapped so the run's ``faults`` param applies."""
    from recon_operators.config.batch_jobs import load_batch_job
    from recon_operators.demo.load_operators import BATCH_DRILL
    from recon_operators.factories.batch_load import build_batch_load_dag

    return build_batch_load_dag(load_batch_job(path), BATCH_DRILL)


@pytest.fixture
def env(slack_receiver):
    return slack_receiver


def audit(store_dsn: str, job: str) -> dict[tuple[str, str | None], tuple]:
    rows = query(
        store_dsn,
        "SELECT check_name, worker_id, passed, expected_value, actual_value, discrepancy, message "
        "FROM recon.recon_audit WHERE job_name = %s",
        job,
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def failed_checks(store_dsn: str, job: str) -> set[tuple[str, str | None]]:
    return {key for key, row in audit(store_dsn, job).items() if row[0] == "N" and key[0] != "run_summary"}


def final_rows(target_dsn: str, job: str) -> list[tuple]:
    return query(
        target_dsn,
        f'SELECT account_id, branch, open_date, status, amount FROM batch_test."final_{job}" ORDER BY account_id',
    )


@pytest.fixture
def target_dsn(databases):
    from recon_operators.demo.services import pg_dsn

    return pg_dsn(databases["target"])


def test_dag_shape_maps_workers_over_the_plan(tmp_path):
    dag = build(make_job(tmp_path))
    assert dag.dag_id.startswith("recon_batch_load_t")
    order = ["plan_chunks", "load_chunk", "merge_final", "reconcile"]
    for before, after in zip(order, order[1:]):
        assert after in dag.get_task(before).get_direct_relative_ids(upstream=False), (before, after)
    assert dag.get_task("load_chunk").expand_input.value["chunk"].operator.task_id == "plan_chunks"


def test_clean_run_passes_every_check_and_reports(env, tmp_path, store_dsn, target_dsn):
    path = make_job(tmp_path)
    run = run_test(build(path), run_conf={"faults": []})
    assert run.state == "success", task_states(run)
    job = path.stem
    rows = audit(store_dsn, job)
    assert {name for name, _ in rows} == {
        "source_vs_workers_read",
        "workers_vs_staging_count",
        "workers_vs_staging_by_worker",
        "staging_vs_final_count",
        "source_vs_staging_amount",
        "source_vs_staging_hash",
        "run_summary",
    }
    assert all(row[0] == "Y" for row in rows.values())
    assert sorted(w for name, w in rows if name == "workers_vs_staging_by_worker") == ["w01", "w02", "w03", "w04"]
    assert rows[("source_vs_workers_read", None)][1:3] == (Decimal(120), Decimal(120))
    report = xcom(run, "reconcile")
    assert report["success_rate_pct"] == "100.00" and report["checks_passed"] == report["checks_total"] == 9
    assert [w["records_read"] for w in report["workers"]] == [30, 30, 30, 30]
    assert len(final_rows(target_dsn, job)) == 120
    metrics = query(
        store_dsn,
        "SELECT worker_id, records_read, records_written FROM recon.batch_worker_metrics "
        "WHERE job_name = %s ORDER BY worker_id",
        job,
    )
    assert metrics == [("w01", 30, 30), ("w02", 30, 30), ("w03", 30, 30), ("w04", 30, 30)]
    ledger = query(
        store_dsn,
        "SELECT count(*), count(*) FILTER (WHERE status = 'Match') FROM recon.check_result WHERE scope->>'job' = %s",
        job,
    )
    assert ledger == [(9, 9)]
    assert env.bodies == []


def test_worker_that_silently_drops_rows_is_named(env, tmp_path, store_dsn):
    path = make_job(tmp_path)
    run = run_test(build(path), run_conf={"faults": [{"kind": "drop_rows", "worker": "w03", "n": 2}]})
    states = task_states(run)
    assert run.state == "failed" and states["reconcile"] == "failed" and states["merge_final"] == "success"
    job = path.stem
    assert failed_checks(store_dsn, job) == {
        ("workers_vs_staging_count", None),
        ("workers_vs_staging_by_worker", "w03"),
        ("source_vs_staging_amount", None),
        ("source_vs_staging_hash", None),
    }
    row = audit(store_dsn, job)[("workers_vs_staging_by_worker", "w03")]
    assert row[1:4] == (Decimal(30), Decimal(28), Decimal(-2))
    assert "workers_vs_staging_by_worker[worker_id=w03] expected 30 actual 28 discrepancy -2" in row[4]
    (alert,) = env.bodies
    assert "workers_vs_staging" in alert["text"] and "reconcile" in alert["text"]
    summary = audit(store_dsn, job)[("run_summary", None)]
    assert summary[:3] == ("N", Decimal(120), Decimal(118)) and "success rate 98.33%" in summary[4]


def test_rejected_records_are_accounted_for(env, tmp_path, store_dsn, target_dsn):
    path = make_job(tmp_path, "accounts_csv.yaml")
    run = run_test(build(path), run_conf={"faults": []})
    assert run.state == "success", task_states(run)
    job = path.stem
    assert failed_checks(store_dsn, job) == set()
    report = xcom(run, "reconcile")
    assert report["totals"]["records_read"] == 120 and report["totals"]["records_rejected"] == 2
    assert report["success_rate_pct"] == "98.33"
    rejects = query(target_dsn, f'SELECT line_no, reason FROM batch_test."stg_{job}_rejects" ORDER BY line_no')
    assert rejects == [(42, "line 42: amount is not a decimal number"), (89, "line 89: account_id is empty")]
    assert len(final_rows(target_dsn, job)) == 118


def test_merge_that_loses_rows_fails_staging_vs_final(env, tmp_path, store_dsn):
    path = make_job(tmp_path)
    run = run_test(build(path), run_conf={"faults": [{"kind": "merge_loses_rows", "n": 3}]})
    assert run.state == "failed"
    job = path.stem
    assert failed_checks(store_dsn, job) == {("staging_vs_final_count", None)}
    assert audit(store_dsn, job)[("staging_vs_final_count", None)][1:4] == (Decimal(120), Decimal(117), Decimal(-3))


@pytest.mark.parametrize("tolerance,state", [("0", "failed"), ("0.01", "success")])
def test_amount_off_by_one_cent_against_the_tolerance(env, tmp_path, store_dsn, tolerance, state):
    path = make_job(tmp_path, amount_tolerance=tolerance, hash_fields=["account_id", "status"])
    run = run_test(build(path), run_conf={"faults": [{"kind": "shift_amount", "worker": "w02", "delta": "0.01"}]})
    assert run.state == state, task_states(run)
    row = audit(store_dsn, path.stem)[("source_vs_staging_amount", None)]
    assert row[0] == ("N" if state == "failed" else "Y") and row[3] == Decimal("0.01")
    assert failed_checks(store_dsn, path.stem) == ({("source_vs_staging_amount", None)} if state == "failed" else set())


def test_rerun_after_failure_ends_identical_to_a_clean_run(env, tmp_path, store_dsn, target_dsn):
    clean = make_job(tmp_path)
    assert run_test(build(clean), run_conf={"faults": []}).state == "success"

    rerun = make_job(tmp_path)
    job, batch_run = rerun.stem, f"batch-{uuid.uuid4().hex[:8]}"
    faults = [
        {"kind": "drop_rows", "worker": "w01", "n": 4},
        {"kind": "shift_amount", "worker": "w02"},
        {"kind": "merge_loses_rows", "n": 5},
    ]
    assert run_test(build(rerun), run_conf={"run_id": batch_run, "faults": faults}).state == "failed"
    assert len(final_rows(target_dsn, job)) < 120
    second = run_test(build(rerun), run_conf={"run_id": batch_run, "faults": []})
    assert second.state == "success", task_states(second)

    assert final_rows(target_dsn, job) == final_rows(target_dsn, clean.stem)
    assert query(target_dsn, f'SELECT count(*), count(DISTINCT line_no), min(run_id) FROM batch_test."stg_{job}"') == [
        (120, 120, batch_run)
    ]
    assert query(target_dsn, f'SELECT DISTINCT last_run_id FROM batch_test."final_{job}"') == [(batch_run,)]
    rows = audit(store_dsn, job)
    assert len(rows) == 10 and all(row[0] == "Y" for row in rows.values())  # replaced, not appended
    assert query(store_dsn, "SELECT count(*) FROM recon.recon_audit WHERE run_id = %s", batch_run) == [(10,)]


def test_a_bad_job_file_is_one_clear_import_error(tmp_path, monkeypatch):
    import shutil

    from airflow.dag_processing.dagbag import DagBag

    config = tmp_path / "config"
    shutil.copytree(ROOT / "include/config", config)
    bad = yaml.safe_load((config / "batch_jobs/accounts_csv.yaml").read_text())
    bad["fields"][4].pop("scale")
    (config / "batch_jobs/accounts_csv.yaml").write_text(yaml.safe_dump(bad))
    monkeypatch.setenv("RECON_CONFIG_DIR", str(config))
    bag = DagBag(dag_folder=str(ROOT / "dags" / "recon_batch_load.py"))
    assert not bag.dags
    (error,) = bag.import_errors.values()
    assert "job 'accounts_csv', field fields[amount].scale: a decimal field needs a scale" in error


def test_s3_source_through_the_aws_connection(env, tmp_path, store_dsn, moto_server):
    bucket = f"batch-{uuid.uuid4().hex[:8]}"
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key="extracts/accounts.csv",
        Body=(ROOT / "include/config/examples/batch_accounts.csv").read_bytes(),
    )
    path = make_job(tmp_path, "accounts_csv.yaml")
    config = yaml.safe_load(path.read_text())
    config["source"]["path"] = f"s3://{bucket}/extracts/accounts.csv"
    config["connections"]["aws"] = "aws_default"
    path.write_text(yaml.safe_dump(config))
    run = run_test(build(path), run_conf={"faults": []})
    assert run.state == "success", task_states(run)
    report = xcom(run, "reconcile")
    assert report["source_records"] == 120 and report["totals"]["records_rejected"] == 2
    assert failed_checks(store_dsn, path.stem) == set()
