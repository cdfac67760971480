"""The batch load's pure logic against real files, real Postgres and moto S3 (no Airflow).

Plan -> workers -> MERGE -> reconcile, called the way the operators call them, so each level's
behaviour (chunk boundaries, staging replacement, MERGE idempotence, check verdicts, audit
replacement) is pinned down without a DAG run around it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from recon_operators.batchload.audit import record_audit, run_report
from recon_operators.batchload.reconcile import Reconciliation, failure_message, reconcile
from recon_operators.batchload.source import profile, read_chunk
from recon_operators.batchload.staging import Tables, ensure_tables, merge_final
from recon_operators.batchload.worker import load_chunk
from recon_operators.config.batch_jobs import load_batch_job
from recon_operators.demo import services
from recon_operators.demo.faults import after_merge, after_worker, parse_faults
from recon_operators.engine.results import Status

ROOT = Path(__file__).resolve().parents[2]
FIXED = ROOT / "include/config/batch_jobs/accounts_fixed_width.yaml"
CSV = ROOT / "include/config/batch_jobs/accounts_csv.yaml"


@pytest.fixture
def target(databases):
    dsn = services.pg_dsn(databases["target"])
    return lambda: psycopg2.connect(dsn)


def own_tables() -> Tables:
    name = uuid.uuid4().hex[:8]
    return Tables(schema="batch_it", staging=f"stg_{name}", final=f"fin_{name}", rejects=f"rej_{name}")


def load(
    job,
    target,
    tables: Tables,
    run_id: str,
    *,
    path: str | None = None,
    workers: int | None = None,
    faults=(),
    filesystem=None,
):
    """The DAG's work without Airflow: plan, every worker, MERGE, reconcile, with the faults
    wrapped around the worker and MERGE steps as the drill operators do. Returns the results."""
    path = path or job.source_path
    faults = parse_faults(list(faults))
    source, chunks = profile(job.layout, path, chunks=workers or job.workers, filesystem=filesystem)
    conn = target()
    try:
        ensure_tables(conn, tables, job.layout)
        metrics = []
        for c in chunks:
            metrics.append(
                load_chunk(
                    conn,
                    tables,
                    job.layout,
                    run_id,
                    c.worker_id,
                    read_chunk(job.layout, path, c, filesystem=filesystem),
                    job.layout.positions(c.header),
                )
            )
            after_worker(conn, tables, job.layout, run_id, c.worker_id, faults)
        merge_final(conn, tables, job.layout, run_id)
        after_merge(conn, tables, job.layout, run_id, faults)
    finally:
        conn.close()
    recon = Reconciliation(
        run_id=run_id,
        layout=job.layout,
        tables=tables,
        source=source.as_dict(),
        workers=metrics,
        amount_tolerance=job.amount_tolerance,
    )
    return reconcile(recon, target), source, metrics


def verdicts(results) -> dict[tuple[str, str | None], str]:
    return {(r.check_name, r.group): r.status.value for r in results}


@pytest.mark.parametrize("workers", [1, 2, 3, 7, 64])
def test_chunks_cover_every_record_once_whatever_the_worker_count(workers):
    job = load_batch_job(FIXED)
    source, chunks = profile(job.layout, job.source_path, chunks=workers)
    assert source.records == 120 and sum(c.records for c in chunks) == 120
    assert chunks[0].start == 0 and chunks[-1].end == source.size
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:]))
    lines = [n for c in chunks for n, _ in read_chunk(job.layout, job.source_path, c)]
    assert lines == list(range(1, 121))
    assert len(chunks) == min(workers, 120)


def test_blank_lines_crlf_bom_and_a_missing_last_newline(tmp_path):
    job = load_batch_job(CSV)
    text = CSV.parent.joinpath("../examples/batch_accounts.csv").resolve().read_text().splitlines()
    body = "\ufeff" + text[0] + "\r\n" + "\r\n".join(text[1:6]) + "\r\n\r\n\r\n" + "\r\n".join(text[6:11])
    path = tmp_path / "quirky.csv"
    path.write_bytes(body.encode("utf-8"))
    source, chunks = profile(job.layout, str(path), chunks=4)
    assert (source.records, source.valid) == (10, 10)
    numbered = [(n, line) for c in chunks for n, line in read_chunk(job.layout, str(path), c)]
    assert [n for n, _ in numbered] == [2, 3, 4, 5, 6, 9, 10, 11, 12, 13]  # file line numbers, blanks skipped
    assert numbered[-1][1].decode() == text[10]


def test_one_long_line_spanning_several_targets_makes_no_empty_chunk(tmp_path):
    job = load_batch_job(CSV)
    rows = [
        "account_id,branch,open_date,status,amount",
        "A1,B1,2020-01-01,A,1.00",
        "A2," + "B" * 5000 + ",2020-01-01,A,2.00",
        "A3,B3,2020-01-01,A,3.00",
    ]
    path = tmp_path / "long.csv"
    path.write_text("\n".join(rows) + "\n")
    _, chunks = profile(job.layout, str(path), chunks=8)
    assert all(c.records > 0 for c in chunks) and sum(c.records for c in chunks) == 3


def test_clean_load_reconciles_and_the_hash_matches_the_engine(target):
    job = load_batch_job(FIXED)
    results, source, metrics = load(job, target, own_tables(), "run-1")
    assert all(r.status is Status.MATCH for r in results), [r.message for r in results if not r.passed]
    hash_result = next(r for r in results if r.check_name == "source_vs_staging_hash")
    assert hash_result.expected == hash_result.actual == source.fingerprint and source.fingerprint.startswith("120:")
    assert Decimal(source.as_dict()["amount"]) == Decimal("1071656.06")
    assert sum(m.records_written for m in metrics) == 120


def test_a_worker_rerun_replaces_only_its_own_rows(target):
    job = load_batch_job(FIXED)
    tables = own_tables()
    results, _, _ = load(job, target, tables, "run-a", faults=[{"kind": "drop_rows", "worker": "w02", "n": 5}])
    assert verdicts(results)[("workers_vs_staging_by_worker", "w02")] == "Mismatch"
    assert verdicts(results)[("workers_vs_staging_by_worker", "w01")] == "Match"
    load(job, target, tables, "run-b")  # another run in the same tables must stay untouched
    results, _, _ = load(job, target, tables, "run-a")
    assert all(r.passed for r in results)
    conn = target()
    with conn.cursor() as cur:
        cur.execute(f'SELECT run_id, count(*) FROM batch_it."{tables.staging}" GROUP BY run_id ORDER BY run_id')
        assert cur.fetchall() == [("run-a", 120), ("run-b", 120)]
        cur.execute(f'SELECT last_run_id, count(*) FROM batch_it."{tables.final}" GROUP BY last_run_id')
        assert cur.fetchall() == [("run-a", 120)]
    conn.close()


def test_a_resplit_rerun_leaves_no_rows_of_the_old_split(target):
    from recon_operators.batchload.staging import clear_run

    job = load_batch_job(FIXED)
    tables = own_tables()
    load(job, target, tables, "run-r", workers=6)
    load(job, target, tables, "run-other", workers=6)
    conn = target()
    try:
        assert clear_run(conn, tables, "run-r") == 120
    finally:
        conn.close()
    results, _, _ = load(job, target, tables, "run-r", workers=2)
    assert all(r.passed for r in results)
    assert verdicts(results)[("workers_vs_staging_by_worker", "w02")] == "Match"


def test_error_verdicts_when_the_staging_table_is_missing(target):
    job = load_batch_job(FIXED)
    source, _ = profile(job.layout, job.source_path, chunks=2)
    recon = Reconciliation(run_id="run-x", layout=job.layout, tables=own_tables(), source=source.as_dict(), workers=[])
    results = reconcile(recon, target)
    assert {r.status for r in results} == {Status.ERROR} and len(results) == 6
    message = failure_message(job.job, "run-x", results)
    assert "\n" not in message and "does not exist" in message and "+3 more" in message


def test_s3_source_reads_byte_ranges_like_a_local_file(target, moto_server):
    from recon_operators.engine.adapters.files import s3_filesystem

    job = load_batch_job(FIXED)
    s3 = moto_server.client("s3")
    bucket = f"batch-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/accounts.dat", Body=Path(job.source_path).read_bytes())
    filesystem = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    results, source, _ = load(
        job, target, own_tables(), "run-s3", path=f"s3://{bucket}/in/accounts.dat", filesystem=filesystem
    )
    local, _ = profile(job.layout, job.source_path, chunks=4)
    assert all(r.passed for r in results)
    assert (source.records, source.fingerprint, source.amount) == (local.records, local.fingerprint, local.amount)


def test_audit_rows_of_a_rerun_replace_the_previous_ones(target, store_conn):
    job = load_batch_job(FIXED).model_copy(update={"amount_tolerance": Decimal(0)})
    tables = own_tables()
    run_id = f"run-{uuid.uuid4().hex[:6]}"
    results, source, metrics = load(
        job, target, tables, run_id, faults=[{"kind": "shift_amount", "worker": "w04", "n": 2, "delta": "-0.5"}]
    )
    record_audit(
        store_conn, job.job, run_id, results, metrics, run_report(job.job, run_id, source.as_dict(), metrics, results)
    )
    with store_conn.cursor() as cur:
        cur.execute(
            "SELECT check_name, passed, discrepancy, tolerance FROM recon.recon_audit "
            "WHERE run_id = %s AND check_name = 'source_vs_staging_amount'",
            (run_id,),
        )
        assert cur.fetchall() == [("source_vs_staging_amount", "N", Decimal("-1.00"), Decimal(0))]
    store_conn.rollback()  # end the read: the store's transactions refuse to start on open work
    results, source, metrics = load(job, target, tables, run_id)
    report = run_report(job.job, run_id, source.as_dict(), metrics, results)
    assert record_audit(store_conn, job.job, run_id, results, metrics, report) == 10
    with store_conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE passed = 'N') FROM recon.recon_audit WHERE run_id = %s", (run_id,)
        )
        assert cur.fetchone() == (10, 0)
        cur.execute("SELECT count(*) FROM recon.batch_worker_metrics WHERE run_id = %s", (run_id,))
        assert cur.fetchone() == (4,)
