"""Cloud (moto DynamoDB) and Legacy (real MariaDB) stores, and dual provisioning across them."""

from __future__ import annotations

import threading

import pytest

from recon_operators.retry import Backoff
from recon_operators.subscribers.cloud import CloudStore
from recon_operators.subscribers.legacy import LegacyStore
from recon_operators.subscribers.model import canonical_timestamp
from recon_operators.subscribers.provisioning import Mode, Provisioner, delete_planner, upsert_planner
from recon_operators.subscribers.sample import subscribers
from tests.integration.subscribers_world import (  # noqa: F401 - pytest fixtures, used as test parameters
    cloud_table,
    dynamodb_client,
    job_store,
    legacy_db,
    legacy_rows,
    mysql_connect,
    open_job,
    throttle,
)

pytestmark = pytest.mark.integration
NOW = "2026-03-01T08:00:00.000Z"
FAST = Backoff(attempts=4, base=0.01, cap=0.05)


@pytest.fixture
def cloud(moto_server, cloud_table):
    return CloudStore(dynamodb_client(moto_server), cloud_table, backoff=FAST)


@pytest.fixture
def legacy(legacy_db):
    conn = mysql_connect(legacy_db)
    try:
        yield LegacyStore(conn, backoff=FAST)
    finally:
        conn.close()


def load(provisioner: Provisioner, records, chunk="c0001", now=NOW):
    incoming = {r["uid"]: r for r in records}
    return provisioner.write_chunk(chunk, list(incoming), upsert_planner(incoming, now))


def test_both_stores_read_back_what_was_written(cloud, legacy, job_store):
    records = subscribers(30, prefix="rt")
    outcome = load(
        Provisioner(
            Mode.DUAL_PROV,
            cloud=cloud,
            legacy=legacy,
            journal=job_store.journal(job_id := open_job(job_store)),
            job_id=job_id,
        ),
        records,
    )
    assert outcome.as_dict()["inserted"] == 30 and outcome.failed == 0
    uids = [r["uid"] for r in records]
    in_cloud, in_legacy = cloud.get_many(uids), legacy.get_many(uids)
    expected = {r["uid"]: {**r, "createdAt": NOW, "updatedAt": NOW} for r in records}
    assert in_cloud == expected and in_legacy == expected
    assert sum(len(page) for page in cloud.pages()) == 30
    actives = {r["uid"] for r in records if r["status"] == "ACTIVE" and r["planId"] == "PREMIUM"}
    assert {r["uid"] for page in cloud.pages({"status": "ACTIVE", "planId": "PREMIUM"}) for r in page} == actives
    assert {r["uid"] for page in legacy.pages({"status": "ACTIVE", "planId": "PREMIUM"}) for r in page} == actives


def test_reloading_the_same_records_writes_nothing(cloud, legacy, job_store, legacy_db):
    records = subscribers(20, prefix="idem")
    job_id = open_job(job_store)
    provisioner = Provisioner(
        Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    )
    load(provisioner, records)
    audit_rows = legacy_rows(legacy_db, "SELECT count(*) FROM audit_log")[0][0]
    again = load(provisioner, records, now="2026-03-02T08:00:00.000Z")
    assert again.as_dict() == {
        "processed": 20,
        "succeeded": 20,
        "failed": 0,
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 20,
        "compensated": 0,
        "out_of_sync": 0,
    }
    assert legacy_rows(legacy_db, "SELECT count(*) FROM audit_log")[0][0] == audit_rows == 20
    assert {r["updatedAt"] for r in cloud.get_many([r["uid"] for r in records]).values()} == {NOW}
    changed = dict(records[0], planId="BUSINESS" if records[0]["planId"] != "BUSINESS" else "BASIC")
    third = load(provisioner, [changed, *records[1:]], now="2026-03-03T08:00:00.000Z")
    assert (third.updated, third.unchanged) == (1, 19)
    assert cloud.get_many([changed["uid"]])[changed["uid"]]["updatedAt"] == "2026-03-03T08:00:00.000Z"
    assert legacy_rows(legacy_db, "SELECT action, changed_fields, job_id FROM audit_log ORDER BY id DESC LIMIT 1") == [
        ("UPDATE", "plan_id,updated_at", job_id)
    ]


def test_a_record_legacy_refuses_is_undone_on_cloud(cloud, legacy, job_store, store_dsn):
    """The second side (Legacy) refuses one record of the chunk: Cloud gets it back as it was
    (a new record: removed; an update: the previous item), the others land on both sides."""
    records = subscribers(10, prefix="comp")
    job_id = open_job(job_store)
    provisioner = Provisioner(
        Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    )
    load(provisioner, records[:5])
    # Legacy holds each MSISDN once: a new uid reusing one, and an update taking another's, are refused.
    newcomer = dict(records[5], msisdn=records[0]["msisdn"])
    thief = dict(records[1], msisdn=records[2]["msisdn"], status="SUSPENDED")
    before_thief = cloud.get_many([thief["uid"]])[thief["uid"]]
    outcome = load(provisioner, [newcomer, thief, *records[6:]], chunk="c0002", now="2026-03-02T00:00:00.000Z")
    assert outcome.failures == {
        newcomer["uid"]: "legacy: msisdn already belongs to another subscriber",
        thief["uid"]: "legacy: msisdn already belongs to another subscriber",
    }
    assert (outcome.processed, outcome.succeeded, outcome.inserted, outcome.compensated) == (6, 4, 4, 2)
    assert newcomer["uid"] not in cloud.get_many([newcomer["uid"]])
    assert cloud.get_many([thief["uid"]])[thief["uid"]] == before_thief
    assert legacy.get_many([thief["uid"]])[thief["uid"]] == before_thief
    uids = [r["uid"] for r in records]
    assert cloud.get_many(uids) == legacy.get_many(uids)
    from tests.airflow_helpers import query

    assert query(store_dsn, "SELECT count(*) FROM recon.subscriber_write_intent WHERE job_id = %s", job_id) == [(0,)]


class _FailingUndo:
    """A Cloud store whose writes work until ``fail_after`` calls, then fail (the undo)."""

    def __init__(self, store: CloudStore, fail_after: int):
        self.store, self.calls, self.fail_after, self.label = store, 0, fail_after, "cloud"

    def get_many(self, uids):
        return self.store.get_many(uids)

    def apply(self, changes):
        self.calls += 1
        if self.calls > self.fail_after:
            raise RuntimeError("cloud unreachable")
        self.store.apply(changes)


def test_a_failed_undo_is_recorded_out_of_sync_and_retried(cloud, legacy, job_store, store_dsn):
    from tests.airflow_helpers import query

    records = subscribers(4, prefix="oos")
    job_id = open_job(job_store)
    flaky = _FailingUndo(cloud, fail_after=2)
    provisioner = Provisioner(
        Mode.DUAL_PROV, cloud=flaky, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    )
    load(provisioner, records[:2])  # call 1
    newcomer = dict(records[2], imsi=records[0]["imsi"])  # refused by Legacy (imsi is unique there)
    outcome = load(provisioner, [newcomer, records[3]], chunk="c0002")  # call 2 writes, call 3 (undo) fails
    assert outcome.failures == {newcomer["uid"]: "legacy: imsi already belongs to another subscriber"}
    assert list(outcome.out_of_sync) == [newcomer["uid"]] and outcome.compensated == 0
    assert newcomer["uid"] in cloud.get_many([newcomer["uid"]])  # half-done, but recorded:
    assert query(store_dsn, "SELECT uid, status FROM recon.subscriber_sync_issue WHERE job_id = %s", job_id) == [
        (newcomer["uid"], "OPEN")
    ]
    healthy = Provisioner(Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id)
    resolved, still = job_store.resync(job_id, healthy.resync)
    assert (resolved, still) == (1, {})
    assert newcomer["uid"] not in cloud.get_many([newcomer["uid"]])
    assert query(store_dsn, "SELECT status, attempts FROM recon.subscriber_sync_issue WHERE job_id = %s", job_id) == [
        ("RESOLVED", 1)
    ]


def test_an_intent_left_by_a_stopped_writer_is_resynced(cloud, legacy, job_store, store_dsn):
    """A writer killed after Cloud and before Legacy leaves its intent: resync undoes Cloud."""
    records = subscribers(3, prefix="kill")
    job_id = open_job(job_store)
    job_store.journal(job_id).open_intent("c0001", [r["uid"] for r in records])
    cloud.apply({r["uid"]: {**r, "createdAt": NOW, "updatedAt": NOW} for r in records})  # then the kill
    provisioner = Provisioner(
        Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    )
    resolved, still = job_store.resync(job_id, provisioner.resync)
    assert (resolved, still) == (3, {})
    assert cloud.get_many([r["uid"] for r in records]) == {}


def test_cloud_throttling_is_retried_with_backoff(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    refused = throttle(client, "BatchWriteItem", 2)
    store = CloudStore(client, cloud_table, backoff=FAST)
    records = subscribers(3, prefix="thr")
    store.apply({r["uid"]: {**r, "createdAt": NOW, "updatedAt": NOW} for r in records})
    assert len(refused) == 2
    assert len(store.get_many([r["uid"] for r in records])) == 3


def test_cloud_throttling_beyond_the_retries_fails_the_chunk_on_both_sides(moto_server, cloud_table, legacy, job_store):
    client = dynamodb_client(moto_server)
    throttle(client, "BatchWriteItem", 1000)
    store = CloudStore(client, cloud_table, backoff=FAST)
    job_id = open_job(job_store)
    records = subscribers(3, prefix="thx")
    outcome = load(
        Provisioner(Mode.DUAL_PROV, cloud=store, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id),
        records,
    )
    assert outcome.failed == 3 and "ProvisionedThroughputExceededException" in next(iter(outcome.failures.values()))
    assert legacy.get_many([r["uid"] for r in records]) == {}


def test_parallel_chunks_load_without_deadlocks(moto_server, cloud_table, legacy_db, job_store):
    """Six chunks written at once (as mapped tasks run), each with its own connections."""
    records = subscribers(1200, prefix="par")
    job_id = open_job(job_store)
    outcomes, errors = [], []

    def run(index: int) -> None:
        from recon_operators.subscribers.jobs import JobStore

        conn = mysql_connect(legacy_db)
        store = JobStore(job_store._factory)
        try:
            provisioner = Provisioner(
                Mode.DUAL_PROV,
                cloud=CloudStore(dynamodb_client(moto_server), cloud_table),
                legacy=LegacyStore(conn),
                journal=store.journal(job_id),
                job_id=job_id,
            )
            outcomes.append(load(provisioner, records[index * 200 : (index + 1) * 200], chunk=f"c{index:04d}"))
        except Exception as exc:  # noqa: BLE001 - collected from the worker thread and asserted below
            errors.append(exc)
        finally:
            conn.close()
            store.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(o.inserted for o in outcomes) == 1200 and sum(o.failed for o in outcomes) == 0
    assert legacy_rows(legacy_db, "SELECT count(*) FROM subscribers")[0][0] == 1200
    cloud = CloudStore(dynamodb_client(moto_server), cloud_table)
    assert sum(len(page) for page in cloud.pages()) == 1200


@pytest.mark.parametrize("soft", [True, False])
def test_bulk_delete_in_dual_mode(cloud, legacy, job_store, legacy_db, soft):
    records = subscribers(5, prefix=f"del{int(soft)}")
    job_id = open_job(job_store)
    provisioner = Provisioner(
        Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    )
    load(provisioner, records)
    uids = [r["uid"] for r in records[:3]] + ["nobody"]
    later = canonical_timestamp("2026-03-05T00:00:00Z")
    outcome = provisioner.write_chunk("d0001", uids, delete_planner(later, soft=soft))
    assert outcome.failures == {"nobody": "uid not found in the provisioned store(s)"}
    assert (outcome.deleted, outcome.succeeded) == (3, 3)
    if soft:
        assert {r["status"] for r in cloud.get_many(uids).values()} == {"DELETED"}
        assert cloud.get_many(uids) == legacy.get_many(uids)
        again = provisioner.write_chunk("d0002", uids[:3], delete_planner(later, soft=True))
        assert again.unchanged == 3
    else:
        assert cloud.get_many(uids) == {} and legacy.get_many(uids) == {}
        assert legacy_rows(legacy_db, "SELECT count(*) FROM audit_log WHERE action = 'DELETE'")[0][0] == 3


@pytest.mark.parametrize("mode", [Mode.CLOUD, Mode.LEGACY])
def test_a_single_mode_writes_only_its_store(cloud, legacy, mode):
    records = subscribers(4, prefix=f"one{mode.value.lower()}")
    provisioner = Provisioner(
        mode, cloud=cloud if mode.cloud else None, legacy=legacy if mode.legacy else None, job_id="single"
    )
    outcome = load(provisioner, records)
    uids = [r["uid"] for r in records]
    assert outcome.inserted == 4
    assert len(cloud.get_many(uids)) == (4 if mode is Mode.CLOUD else 0)
    assert len(legacy.get_many(uids)) == (4 if mode is Mode.LEGACY else 0)
