"""The subscriber job DAGs through dag.test(): real MariaDB (Legacy), moto DynamoDB and S3,
the session's results store. Each test gets its own config copy (DAG ids, Cloud table, bucket,
Legacy database), so tests never see each other's subscribers or jobs."""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
from pathlib import Path
from urllib.request import urlopen

import pytest
import yaml

from recon_operators.subscribers.sample import migration_file, subscribers, to_csv
from tests.airflow_helpers import query, run_test, task_states, xcom
from tests.integration.subscribers_world import dynamodb_client, legacy_db, legacy_rows  # noqa: F401 - pytest fixtures, used as test parameters

pytestmark = pytest.mark.dags
ROOT = Path(__file__).resolve().parents[2]


class World:
    """One test's subscriber deployment: its config file, bucket, Cloud table and Legacy database."""

    def __init__(self, tmp_path: Path, moto_server, store_dsn: str, legacy: str, **job_changes):
        self.tag = uuid.uuid4().hex[:8]
        config = yaml.safe_load((ROOT / "include/config/subscribers/jobs.yaml").read_text())
        config["dag_id_prefix"] = f"subscriber_t{self.tag}_"
        config["cloud"]["table"] = f"subs-{self.tag}"
        config["s3"]["bucket"] = f"subs-{self.tag}"
        for job_type, settings in config["jobs"].items():
            settings.update({"retries": 0, "schedule": None, **job_changes.get(job_type, {})})
        self.config = config
        self.path = tmp_path / f"jobs-{self.tag}.yaml"
        self.path.write_text(yaml.safe_dump(config))
        self.moto, self.store_dsn, self.legacy = moto_server, store_dsn, legacy
        self.s3 = moto_server.client("s3")
        self.s3.create_bucket(Bucket=config["s3"]["bucket"])

    @property
    def bucket(self) -> str:
        return self.config["s3"]["bucket"]

    def dag(self, job_type: str):
        from recon_operators.factories.subscribers import build_subscriber_dags

        return build_subscriber_dags(self.path)[f"subscriber_t{self.tag}_{job_type}"]

    def land(self, job_type: str, name: str, text: str) -> str:
        key = f"subscribers/{job_type}/incoming/{name}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=text.encode())
        return key

    def read(self, key: str) -> list[dict[str, str]]:
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
        return list(csv.DictReader(io.StringIO(body)))

    def job(self, run) -> dict:
        from recon_operators.subscribers.jobs import JobStore

        store = JobStore.from_dsn(self.store_dsn)
        try:
            (row,) = store.jobs(dag_id=run.dag_id, run_id=run.run_id)
            return row
        finally:
            store.close()

    def cloud(self):
        from recon_operators.subscribers.cloud import CloudStore

        return CloudStore(dynamodb_client(self.moto), self.config["cloud"]["table"])

    def cloud_items(self) -> dict[str, dict]:
        return {r["uid"]: r for page in self.cloud().pages() for r in page}

    def legacy_records(self) -> dict[str, dict]:
        from recon_operators.subscribers.legacy import LegacyStore
        from tests.integration.subscribers_world import mysql_connect

        conn = mysql_connect(self.legacy)
        try:
            return {r["uid"]: r for page in LegacyStore(conn).pages() for r in page}
        finally:
            conn.close()


@pytest.fixture
def world(slack_receiver, airflow_env, moto_server, store_dsn, legacy_db, tmp_path, monkeypatch):
    from recon_operators.demo import services

    monkeypatch.setenv(
        "AIRFLOW_CONN_LEGACY_MYSQL",
        f"mysql://{services.MARIADB_USER}@{services.MARIADB_HOST}:{services.MARIADB_PORT}/{legacy_db}",
    )
    return lambda **changes: World(tmp_path, moto_server, store_dsn, legacy_db, **changes)


def test_the_four_dags_and_their_governance(world):
    w = world(migration={"timeout_minutes": 60}, audit={"timeout_minutes": 30}, export={"timeout_minutes": 40})
    from datetime import timedelta

    for job_type, minutes in (("migration", 60), ("bulk_delete", 60), ("audit", 30), ("export", 40)):
        dag = w.dag(job_type)
        processing = [t for t in dag.tasks if t.task_id != "wait_for_file"]
        assert {t.execution_timeout for t in processing} == {timedelta(minutes=minutes)}, job_type
        assert {t.retry_exponential_backoff for t in processing} == {2.0}
        assert {type(t.retry_policy).__name__ for t in processing} == {"JitteredBackoff"}
    migration = w.dag("migration")
    assert [t.task_id for t in migration.topological_sort()] == [
        "wait_for_file",
        "open_job",
        "plan_file",
        "load_chunk",
        "resync",
        "finish_job",
    ]
    assert migration.get_task("wait_for_file").deferrable and migration.get_task("wait_for_file").soft_fail


def test_migration_with_bad_rows_then_the_same_file_again(world):
    w = world(migration={"chunk_size": 40})
    text, bad = migration_file(100, bad_every=10, prefix=f"m{uuid.uuid4().hex[:4]}")
    assert bad == 10
    key = w.land("migration", "wave1.csv", text)
    run = run_test(w.dag("migration"), run_conf={"input_key": key, "mode": "DUAL_PROV"})
    assert run.state == "success", task_states(run)
    job = w.job(run)
    assert (job["job_status"], job["processed_records"], job["success_records"], job["failed_records"]) == (
        "COMPLETED",
        100,
        90,
        10,
    )
    assert job["input_file_key"].startswith(f"subscribers/migration/jobs/{job['job_id']}/wave1.csv")
    assert job["details"]["inserted"] == 90 and job["details"]["chunks"] == 3
    rejects = w.read(job["rejects_file_key"])
    assert job["rejects_file_key"] == f"subscribers/migration/jobs/{job['job_id']}/wave1.rejects.csv"
    assert [r["line"] for r in rejects] == [str(n) for n in range(11, 102, 10)]
    assert {r["reasons"].split(":")[0] for r in rejects} == {"msisdn", "imsi", "status", "email", "dateOfBirth", "uid"}
    assert rejects[0]["reasons"] == "msisdn: not E.164 (+ then 8-15 digits, no leading 0)"
    cloud, legacy = w.cloud_items(), w.legacy_records()
    assert len(cloud) == 90 and cloud == legacy
    audit_rows = legacy_rows(w.legacy, "SELECT count(*), count(DISTINCT job_id) FROM audit_log")
    assert audit_rows == [(90, 1)]
    summary = xcom(run, "finish_job")
    assert summary["job_id"] == job["job_id"] and "msisdn" not in str(summary)

    again = run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "wave1.csv", text)})
    assert again.state == "success", task_states(again)
    second = w.job(again)
    assert (second["processed_records"], second["success_records"], second["failed_records"]) == (100, 90, 10)
    assert second["details"]["unchanged"] == 90 and second["details"]["inserted"] == 0
    assert w.cloud_items() == cloud and w.legacy_records() == legacy
    assert legacy_rows(w.legacy, "SELECT count(*) FROM audit_log") == [(90,)]


def test_the_landing_sensor_takes_the_next_file_and_legacy_refusals_are_undone_on_cloud(world):
    w = world()
    records = subscribers(6, prefix=f"u{uuid.uuid4().hex[:4]}")
    run = run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "a.csv", to_csv(records[:3]))})
    assert run.state == "success"
    # records[3] reuses records[0]'s MSISDN: Cloud takes it, Legacy refuses it, Cloud is undone.
    clash = dict(records[3], msisdn=records[0]["msisdn"])
    w.land("migration", "b.csv", to_csv([clash, *records[4:]]))
    second = run_test(w.dag("migration"))  # no conf: the sensor finds b.csv under incoming/
    assert second.state == "success", task_states(second)
    job = w.job(second)
    assert job["input_file_key"].endswith("/b.csv")
    assert (job["success_records"], job["failed_records"], job["details"]["compensated"]) == (2, 1, 1)
    assert clash["uid"] not in w.cloud_items() and w.cloud_items() == w.legacy_records()
    (reject,) = w.read(job["rejects_file_key"])
    assert (reject["uid"], reject["reasons"]) == (clash["uid"], "legacy: msisdn already belongs to another subscriber")


def test_a_bad_header_fails_the_job_in_one_line(world):
    w = world()
    key = w.land("migration", "bad.csv", "uid,msisdn,imsi,status,plan_id\n")
    run = run_test(w.dag("migration"), run_conf={"input_key": key})
    assert run.state == "failed" and task_states(run)["plan_file"] == "failed"
    job = w.job(run)
    assert job["job_status"] == "FAILED"
    assert (
        job["error"].startswith("plan_file: s3://") and "unknown: plan_id" in job["error"] and "\n" not in job["error"]
    )


def test_bulk_delete_soft_and_hard(world):
    w = world()
    records = subscribers(5, prefix=f"d{uuid.uuid4().hex[:4]}")
    run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "base.csv", to_csv(records))})
    uids = to_csv([{"uid": r["uid"]} for r in records[:2]] + [{"uid": "ghost-1"}], header=("uid",))
    run = run_test(w.dag("bulk_delete"), run_conf={"input_key": w.land("bulk_delete", "del.csv", uids)})
    assert run.state == "success", task_states(run)
    job = w.job(run)
    assert (job["job_type"], job["processed_records"], job["success_records"], job["failed_records"]) == (
        "BULK_DELETE",
        3,
        2,
        1,
    )
    assert {w.cloud_items()[r["uid"]]["status"] for r in records[:2]} == {"DELETED"}
    assert w.cloud_items() == w.legacy_records()
    hard = run_test(
        w.dag("bulk_delete"), run_conf={"input_key": w.land("bulk_delete", "del2.csv", uids), "delete": "hard"}
    )
    assert hard.state == "success"
    assert set(w.cloud_items()) == set(w.legacy_records()) == {r["uid"] for r in records[2:]}


def test_export_url_downloads_the_merged_masked_file(world, monkeypatch):
    w = world()
    records = subscribers(8, prefix=f"x{uuid.uuid4().hex[:4]}")
    for record in records:
        record.update(status="ACTIVE", planId="PREMIUM")
    run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "x.csv", to_csv(records))})
    drifted = dict(w.cloud_items()[records[0]["uid"]], planId="BASIC")  # Cloud drifted on one subscriber
    w.cloud().apply({drifted["uid"]: drifted})
    run = run_test(w.dag("export"), run_conf={"status": "ACTIVE", "planId": "PREMIUM"})
    assert run.state == "success", task_states(run)
    job = w.job(run)
    assert job["job_status"] == "COMPLETED" and job["filters"]["status"] == "ACTIVE"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with urlopen(job["output_url"]) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert len(rows) == 8 and job["processed_records"] == 8
    by_uid = {r["uid"]: r for r in rows}
    first = by_uid[records[0]["uid"]]
    assert (first["syncStatus"], first["conflictFields"], first["planId"]) == ("CONFLICT", "planId", "BASIC")
    assert {r["syncStatus"] for uid, r in by_uid.items() if uid != records[0]["uid"]} == {"IN_SYNC"}
    assert all("*******" in r["msisdn"] and r["msisdn"] != records[0]["msisdn"] for r in rows)
    assert all(r["firstName"].endswith("***") for r in rows)
    assert job["details"]["by_sync_status"] == {"CONFLICT": 1, "IN_SYNC": 7}


def _wait_for(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_timeout_ends_the_job_failed(world):
    w = world(migration={"timeout_minutes": 0.005})  # 0.3 s per task: the load of 3000 subscribers takes longer
    text, _ = migration_file(3000, prefix=f"t{uuid.uuid4().hex[:4]}")
    run = run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "slow.csv", text)})
    assert run.state == "failed"
    job = w.job(run)
    assert job["job_status"] == "FAILED" and "task_failure" in job["error"]
    assert "failed" in set(task_states(run).values())


def test_cancel_through_the_rest_api_ends_the_job_cancelled(world):
    """While a chunk loads, a user marks the run failed (PATCH dagRuns/{run_id} state=failed)."""
    w = world(migration={"chunk_size": 500})
    text, _ = migration_file(3000, prefix=f"c{uuid.uuid4().hex[:4]}")
    key = w.land("migration", "cancel.csv", text)
    dag = w.dag("migration")
    cancelled: list[str] = []
    # Imported here, not in the thread: an import racing dag.test's own imports can stall.
    from airflow.api_fastapi.core_api.datamodels.dag_run import DagRunMutableStates, DAGRunPatchBody
    from airflow.api_fastapi.core_api.routes.public.dag_run import patch_dag_run
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    errors: list[BaseException] = []

    def cancel() -> None:
        try:
            marked_failed()
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            errors.append(exc)

    def marked_failed() -> None:
        def loading() -> bool:
            rows = query(
                w.store_dsn,
                "SELECT run_id FROM recon.subscriber_job j JOIN recon.subscriber_job_chunk c "
                "USING (job_id) WHERE j.dag_id = %s",
                dag.dag_id,
            )
            return bool(rows) and bool(cancelled.append(rows[0][0]) or True)

        if not _wait_for(loading):
            return
        with create_session() as session:
            patch_dag_run(
                dag_id=dag.dag_id,
                dag_run_id=cancelled[0],
                patch_body=DAGRunPatchBody(state=DagRunMutableStates.FAILED),
                session=session,
                dag_bag=DBDagBag(),
                user=None,
                update_mask=None,
            )

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    run = run_test(dag, run_conf={"input_key": key})
    thread.join(timeout=30)
    assert errors == [] and cancelled
    job = w.job(run)
    assert job["job_status"] == "CANCELLED", job  # and it stays so, whatever the run's tasks did after
    assert job["error"].startswith("cancelled")
    # dag.test() runs what it had scheduled (a scheduler would not); chunks starting after the cancel skip.
    states = {ti.map_index: str(ti.state) for ti in run.get_task_instances() if ti.task_id == "load_chunk"}
    assert "skipped" in states.values(), states
    assert job["success_records"] < 3000


def test_audit_finds_planted_drift_and_records_it_for_the_gate(world):
    from recon_operators.subscribers.legacy import LegacyStore
    from tests.integration.subscribers_world import mysql_connect

    w = world()
    records = subscribers(30, prefix=f"a{uuid.uuid4().hex[:4]}")
    run_test(w.dag("migration"), run_conf={"input_key": w.land("migration", "base.csv", to_csv(records))})
    uids = [r["uid"] for r in records]
    conn = mysql_connect(w.legacy)
    try:
        legacy = LegacyStore(conn)
        before = legacy.get_many(uids)
        legacy.apply({uids[0]: None, uids[1]: None, uids[5]: {**before[uids[5]], "status": "SUSPENDED"}}, before, "t")
    finally:
        conn.close()
    w.cloud().apply({uids[2]: None})
    run = run_test(w.dag("audit"))
    assert run.state == "success", task_states(run)  # gate policy warn: the run goes on, the ledger says Mismatch
    job = w.job(run)
    sync = job["details"]["sync"]
    assert (job["job_type"], job["job_status"]) == ("AUDIT", "COMPLETED")
    assert (sync["in_sync"], sync["cloud_only"], sync["legacy_only"], sync["field_conflicts"]) == (26, 2, 1, 1)
    assert sync["conflicts_by_field"] == {"status": 1}
    assert (job["processed_records"], job["success_records"], job["failed_records"]) == (30, 26, 4)
    mismatches = w.read(job["output_file_key"])
    assert {(m["kind"], m["uid"], m["field"]) for m in mismatches} == {
        ("CLOUD_ONLY", uids[0], ""),
        ("CLOUD_ONLY", uids[1], ""),
        ("LEGACY_ONLY", uids[2], ""),
        ("CONFLICT", uids[5], "status"),
    }
    ledger = dict(
        query(
            w.store_dsn,
            "SELECT check_name, status FROM recon.check_result WHERE suite = 'subscriber_audit' "
            "AND run_id LIKE %s AND group_key IS NULL",
            f"%{run.run_id}%",
        )
    )
    assert ledger["missing_in_target"] == ledger["extra_in_target"] == ledger["changed_rows"] == "Mismatch"
    decision = query(
        w.store_dsn, "SELECT policy, outcome FROM recon.gate_decision WHERE run_id LIKE %s", f"%{run.run_id}%"
    )
    assert decision == [("warn", "Warned")]


def test_an_audit_that_cannot_read_cloud_is_an_error_verdict_and_a_failed_job(world):
    w = world()  # nothing migrated yet: the Cloud table does not exist
    run = run_test(w.dag("audit"))
    assert run.state == "failed" and task_states(run)["audit"] == "failed"
    job = w.job(run)
    assert job["job_status"] == "FAILED"
    assert job["error"].startswith("audit: ") and "ResourceNotFoundException" in job["error"]
    (row,) = query(
        w.store_dsn,
        "SELECT status, message FROM recon.check_result WHERE suite = 'subscriber_audit' AND run_id LIKE %s",
        f"%{run.run_id}%",
    )
    assert row[0] == "Error" and "ResourceNotFoundException" in row[1] and "\n" not in row[1]
