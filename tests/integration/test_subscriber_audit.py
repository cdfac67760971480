"""The audit: the engine's keyed row diff between the DynamoDB adapter (Cloud) and MariaDB (Legacy),
with differences planted on every field and on both sides' membership; and the adapter's own
behaviour (typed from what DynamoDB stores, schemaless, filtered, throttling retried)."""

from __future__ import annotations

import pytest

from recon_operators.demo import services
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.adapters.dynamodb import DynamoDBAdapter, scan_request
from recon_operators.engine.opener import open_side
from recon_operators.engine.rowdiff import DiffSpec, run_diff
from recon_operators.engine.spec import SideSpec
from recon_operators.retry import Backoff
from recon_operators.subscribers.audit import legacy_query, mismatch_rows, run_audit, sync_summary
from recon_operators.subscribers.cloud import CloudStore
from recon_operators.subscribers.legacy import LegacyStore
from recon_operators.subscribers.model import PII_ATTRIBUTES
from recon_operators.subscribers.provisioning import Mode, Provisioner, upsert_planner
from recon_operators.subscribers.sample import subscribers
from tests.integration.subscribers_world import (  # noqa: F401 - pytest fixtures, used as test parameters
    cloud_table,
    dynamodb_client,
    job_store,
    legacy_db,
    mysql_connect,
    open_job,
    throttle,
)

pytestmark = pytest.mark.integration
NOW = "2026-03-01T08:00:00.000Z"
# One planted change per compared field, each on its own subscriber (index in the loaded set).
CHANGES = {
    "msisdn": "+6289999999901",
    "imsi": "999990000000001",
    "status": "SUSPENDED",
    "planId": "LEGACY-ONLY-PLAN",
    "email": "someone.else@example.org",
    "firstName": "Zed",
    "lastName": "Zulu",
    "address": "Jl. Lain 1",
    "dateOfBirth": "1971-07-07",
    "createdAt": "2020-01-01T00:00:00.000Z",
    "updatedAt": "2026-03-01T08:00:00.001Z",  # one millisecond after NOW: still a difference
}


def planted_world(moto_server, table, legacy_db, job_store, count=60):
    """``count`` subscribers on both sides, then: 3 only in Cloud, 2 only in Legacy, and one Legacy
    field changed per field of ``CHANGES``."""
    records = subscribers(count, prefix="aud")
    for record in records:  # every optional field present, so a change is a change of value
        record.update(
            email=record["email"] or f"{record['uid']}@example.com",
            address=record["address"] or "Jl. A 1",
            planId="BASIC",
            status="ACTIVE",
        )
    cloud = CloudStore(dynamodb_client(moto_server), table)
    conn = mysql_connect(legacy_db)
    legacy = LegacyStore(conn)
    job_id = open_job(job_store)
    incoming = {r["uid"]: r for r in records}
    Provisioner(
        Mode.DUAL_PROV, cloud=cloud, legacy=legacy, journal=job_store.journal(job_id), job_id=job_id
    ).write_chunk("c1", list(incoming), upsert_planner(incoming, NOW))
    uids = list(incoming)
    cloud_only, legacy_only = uids[:3], uids[3:5]
    legacy.apply(dict.fromkeys(cloud_only), legacy.get_many(cloud_only), "plant")
    cloud.apply(dict.fromkeys(legacy_only))
    changed = {}
    current = legacy.get_many(uids[10 : 10 + len(CHANGES)])
    for uid, (field, value) in zip(uids[10:], CHANGES.items()):
        legacy.apply({uid: {**current[uid], field: value}}, current, "plant")
        changed[uid] = field
    return cloud, conn, set(cloud_only), set(legacy_only), changed


def test_the_audit_finds_every_planted_difference(moto_server, cloud_table, legacy_db, job_store):
    cloud, conn, cloud_only, legacy_only, changed = planted_world(moto_server, cloud_table, legacy_db, job_store)
    conn.close()
    legacy_url = f"mysql://{services.MARIADB_USER}@{services.MARIADB_HOST}:{services.MARIADB_PORT}/{legacy_db}"
    with (
        DynamoDBAdapter(dynamodb_client(moto_server), SideSpec(table=cloud_table), segments=3) as source,
        open_side(SideSpec(connection=legacy_url, query=legacy_query()), "legacy") as target,
    ):
        result = run_audit(source, target, mismatch_limit=1000)
    summary = sync_summary(result, 1000)
    assert (summary["cloud_items"], summary["legacy_rows"]) == (58, 57)
    assert (summary["cloud_only"], summary["legacy_only"], summary["field_conflicts"]) == (3, 2, len(CHANGES))
    assert summary["in_sync"] == 60 - 5 - len(CHANGES) and summary["subscribers"] == 60
    assert summary["conflicts_by_field"] == dict.fromkeys(sorted(CHANGES), 1)
    assert summary["not_compared"] == {}
    assert (result.forms["createdAt"]["compared_as"], result.forms["dateOfBirth"]["compared_as"]) == (
        "timestamp UTC",
        "date",
    )
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


def test_the_dynamodb_side_is_typed_from_what_it_stores_and_schemaless(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    client.put_item(
        TableName=cloud_table,
        Item={
            "uid": {"S": "n1"},
            "status": {"S": "ACTIVE"},
            "balance": {"N": "10.10"},
            "tags": {"SS": ["b", "a"]},
            "active": {"BOOL": True},
            "seen": {"S": "2026-01-02T03:04:05.120Z"},
            "code": {"S": "0812"},
        },
    )
    client.put_item(
        TableName=cloud_table,
        Item={"uid": {"S": "n2"}, "status": {"S": "ACTIVE"}, "balance": {"N": "7"}, "code": {"S": "0813"}},
    )
    with DynamoDBAdapter(client, SideSpec(table=cloud_table), segments=2) as side:
        kinds = {name: t.kind for name, t in side.columns().items()}
    assert kinds == {
        "uid": "text",
        "status": "text",
        "balance": "decimal",
        "tags": "json",
        "active": "boolean",
        "seen": "timestamptz",
        "code": "text",
    }  # a leading zero keeps a code text
    with (
        DynamoDBAdapter(client, SideSpec(table=cloud_table)) as left,
        DynamoDBAdapter(client, SideSpec(table=cloud_table)) as right,
    ):
        result = run_diff(DiffSpec(key=("uid",)), left, right)
    assert result.equal and result.source_rows == 2


def test_a_dynamodb_side_opens_from_an_aws_connection_and_filters_in_duckdb(moto_server, cloud_table, monkeypatch):
    client = dynamodb_client(moto_server)
    for uid, status in (("f1", "ACTIVE"), ("f2", "DELETED"), ("f3", "DELETED")):
        client.put_item(TableName=cloud_table, Item={"uid": {"S": uid}, "status": {"S": status}})
    monkeypatch.setenv("AIRFLOW_CONN_AWS_SUBS", moto_server.airflow_conn())
    side = SideSpec(connection="aws_subs", table=cloud_table, filter="status = :status")
    with open_side(side, "cloud", params={"status": "DELETED"}) as cloud:
        assert cloud.engine == "dynamodb" and cloud.describe() == {
            "engine": "dynamodb",
            "table": cloud_table,
            "connection": "aws_subs",
            "filter": "status = :status",
        }
        assert cloud.session().execute("SELECT count(*) FROM recon_file").fetchone() == (3,)
    request = scan_request(cloud_table, "#status = :status", {"status": "DELETED"}, ["uid"])
    assert request["ExpressionAttributeNames"] == {"#status": "status", "#p0": "uid"}
    assert sorted(i["uid"]["S"] for i in client.scan(**request)["Items"]) == ["f2", "f3"]
    with pytest.raises(SourceError, match="needs :status"):
        scan_request(cloud_table, "#status = :status", {})


def test_a_missing_table_is_one_line_naming_the_side(moto_server):
    with pytest.raises(SourceError, match=r"^dynamodb nowhere: .*ResourceNotFoundException"):
        DynamoDBAdapter(dynamodb_client(moto_server), SideSpec(table="nowhere")).columns()


def test_scans_retry_when_throttled(moto_server, cloud_table):
    client = dynamodb_client(moto_server)
    client.put_item(TableName=cloud_table, Item={"uid": {"S": "t1"}})
    refused = throttle(client, "Scan", 2)
    with DynamoDBAdapter(
        client, SideSpec(table=cloud_table), segments=1, backoff=Backoff(attempts=4, base=0.01)
    ) as side:
        assert list(side.columns()) == ["uid"] and len(refused) == 2
