"""The audit: the engine's keyed row diff between the DynamoDB adapter (Cloud) and MariaDB (Legacy),
with differences planted on every field and on both sides' membership."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recon_operators.engine.adapters.dynamodb import DynamoDBDataset, DynamoDBSource, scan_request
from recon_operators.engine.rowdiff import SqlDataset
from recon_operators.engine.sources.base import AggregateRequest, Measure
from recon_operators.engine.spec import SideSpec
from recon_operators.retry import Backoff
from recon_operators.subscribers.audit import CLOUD_COLUMNS, legacy_query, mismatch_rows, run_audit, sync_summary
from recon_operators.subscribers.cloud import CloudStore
from recon_operators.subscribers.legacy import LegacyStore
from recon_operators.subscribers.model import ATTRIBUTES, PII_ATTRIBUTES
from recon_operators.subscribers.provisioning import Mode, Provisioner, upsert_planner
from recon_operators.subscribers.sample import subscribers
from tests.integration.subscribers_world import (cloud_table, dynamodb_client, job_store, legacy_db,  # noqa: F401
                                                 mysql_connect, open_job, throttle)

pytestmark = pytest.mark.integration
NOW = "2026-03-01T08:00:00.000Z"
# One planted change per compared field, each on its own subscriber (index in the loaded set).
CHANGES = {
    "msisdn": "+6289999999901", "imsi": "999990000000001", "status": "SUSPENDED", "planId": "LEGACY-ONLY-PLAN",
    "email": "someone.else@example.org", "firstName": "Zed", "lastName": "Zulu", "address": "Jl. Lain 1",
    "dateOfBirth": "1971-07-07", "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2025-12-31T23:59:59.000Z",
}


def planted_world(moto_server, table, legacy_db, job_store, count=60):
    """``count`` subscribers on both sides, then: 3 only in Cloud, 2 only in Legacy, and one Legacy
    field changed per field of ``CHANGES``."""
    records = subscribers(count, prefix="aud")
    for record in records:  # every optional field present, so a change is a change of value
        record.update(email=record["email"] or f"{record['uid']}@example.com", address=record["address"] or "Jl. A 1",
                      planId="BASIC", status="ACTIVE")
    cloud = CloudStore(dynamodb_client(moto_server), table)
    conn = mysql_connect(legacy_db)
    legacy = LegacyStore(conn)
    job_id = open_job(job_store)
    incoming = {r["uid"]: r for r in records}
    Provisioner(Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id) \
        .write_chunk("c1", list(incoming), upsert_planner(incoming, NOW))
    uids = list(incoming)
    cloud_only, legacy_only = uids[:3], uids[3:5]
    legacy.apply(dict.fromkeys(cloud_only), legacy.get_many(cloud_only), "plant")
    cloud.apply(dict.fromkeys(legacy_only))
    changed = {}
    current = legacy.get_many(uids[10:10 + len(CHANGES)])
    for uid, (field, value) in zip(uids[10:], CHANGES.items()):
        legacy.apply({uid: {**current[uid], field: value}}, current, "plant")
        changed[uid] = field
    return cloud, conn, set(cloud_only), set(legacy_only), changed


def test_the_audit_finds_every_planted_difference(moto_server, cloud_table, legacy_db, job_store):
    cloud, conn, cloud_only, legacy_only, changed = planted_world(moto_server, cloud_table, legacy_db, job_store)
    try:
        source = DynamoDBDataset(dynamodb_client(moto_server), cloud_table, columns=CLOUD_COLUMNS, segments=3)
        result = run_audit(source, SqlDataset(conn, "mysql", query=legacy_query()), mismatch_limit=1000)
    finally:
        conn.close()
    summary = sync_summary(result, 1000)
    assert (summary["cloud_items"], summary["legacy_rows"]) == (58, 57)
    assert (summary["cloud_only"], summary["legacy_only"], summary["field_conflicts"]) == (3, 2, len(CHANGES))
    assert summary["in_sync"] == 60 - 5 - len(CHANGES) and summary["subscribers"] == 60
    assert summary["conflicts_by_field"] == dict.fromkeys(sorted(CHANGES), 1)
    rows = mismatch_rows(result)
    assert {r[1] for r in rows if r[0] == "CLOUD_ONLY"} == cloud_only
    assert {r[1] for r in rows if r[0] == "LEGACY_ONLY"} == legacy_only
    assert {(r[1], r[2]) for r in rows if r[0] == "CONFLICT"} == set(changed.items())
    by_field = {r[2]: r for r in rows if r[0] == "CONFLICT"}
    assert by_field["planId"][3:] == ("BASIC", "LEGACY-ONLY-PLAN")  # not PII: shown as is
    assert by_field["msisdn"][4] == "+62899*******01" and by_field["firstName"][4] == "Z***"
    assert by_field["email"][4] == "s***@example.org" and by_field["address"][4] == "*******"
    for field in PII_ATTRIBUTES:  # no clear value of a PII field in the list
        assert CHANGES[field] not in by_field[field]


def test_the_dynamodb_side_reads_numbers_by_value_and_missing_attributes_as_null(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    client.put_item(TableName=cloud_table, Item={"uid": {"S": "n1"}, "status": {"S": "ACTIVE"}, "balance": {"N": "10.10"},
                                                  "tags": {"SS": ["b", "a"]}})
    client.put_item(TableName=cloud_table, Item={"uid": {"S": "n2"}, "status": {"S": "ACTIVE"}, "balance": {"N": "7"}})
    dataset = DynamoDBDataset(client, cloud_table, columns={"plan_id": "planId"})
    assert dataset.kinds() == {"uid": None, "status": None, "balance": "number", "tags": None, "plan_id": None}
    other = DynamoDBDataset(client, cloud_table, columns={"plan_id": "planId"})
    from recon_operators.engine.rowdiff import DiffSpec, run_diff

    result = run_diff(DiffSpec(key=("uid",)), dataset, other)
    assert result.equal and result.source_rows == 2
    source = DynamoDBSource(client, SideSpec(table=cloud_table), table=cloud_table, segments=2)
    try:
        rows = source.aggregate(AggregateRequest(measures=(Measure("n", "count"), Measure("total", "sum", "balance"))))
    finally:
        source.close()
    assert rows[()]["n"] == 2 and rows[()]["total"] == Decimal("17.10")


def test_a_filter_binds_its_values_and_names(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    for uid, status in (("f1", "ACTIVE"), ("f2", "DELETED")):
        client.put_item(TableName=cloud_table, Item={"uid": {"S": uid}, "status": {"S": status}})
    request = scan_request(cloud_table, "#status = :status", {"status": "DELETED"}, ["uid"])
    assert request["ExpressionAttributeNames"] == {"#status": "status", "#p0": "uid"}
    result = [item["uid"] for item in client.scan(**request)["Items"]]
    assert result == [{"S": "f2"}]
    with pytest.raises(Exception, match="needs :status"):
        scan_request(cloud_table, "#status = :status", {})


def test_scans_retry_when_throttled(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    client.put_item(TableName=cloud_table, Item={"uid": {"S": "t1"}})
    refused = throttle(client, "Scan", 2)
    dataset = DynamoDBDataset(client, cloud_table, segments=1, backoff=Backoff(attempts=4, base=0.01))
    assert [d["uid"] for d in dataset.collection.find()] == ["t1"] and len(refused) == 2
