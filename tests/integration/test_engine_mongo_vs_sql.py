"""A Mongo side (mongomock behind the Mongo hook) against Postgres: same canonical values."""

from __future__ import annotations

from decimal import Decimal

import mongomock
import pytest
import yaml
from bson.decimal128 import Decimal128

from recon_operators.demo.services import pg_dsn
from recon_operators.engine.adapters.mongo import MongoAdapter
from recon_operators.engine.opener import open_side as open_cli_side
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import parse_suite

from .recon_data import faulted, subscribers, table_name, write_postgres

pytestmark = pytest.mark.integration

CHECKS = [
    {"name": "rows", "kind": "row_count"},
    {"name": "balance_total", "kind": "sum", "column": "balance"},
    {"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]},
    {"name": "distinct_msisdn", "kind": "distinct_count", "column": "msisdn"},
    {"name": "latest_activation", "kind": "max", "column": "activated_at"},
    {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "status", "balance", "activated_at"]},
]


def mongo_docs(rows):
    """Documents as a stage service would store them: nested profile, Decimal128 balances."""
    return [
        {
            "msisdn": r["msisdn"],
            "cohort_id": r["cohort_id"],
            "profile": {"status": r["status"]},
            "balance": Decimal128(str(r["balance"])),
            "activated_at": r["activated_at"],
        }
        for r in rows
    ]


def suite_text(table: str, dsn: str) -> str:
    return yaml.safe_dump(
        {
            "suite": "pg_vs_mongo",
            "source": {"connection": dsn, "table": table, "filter": "cohort_id = :cohort_id"},
            "target": {
                "connection": "stage_mongo",
                "collection": "subscribers",
                "filter": {"cohort_id": ":cohort_id"},
                "columns": {"status": "profile.status"},
            },
            "normalise": {"balance": {"type": "decimal", "scale": 2}, "activated_at": {"type": "timestamp"}},
            "checks": CHECKS,
        }
    )


@pytest.fixture
def pg_table(databases):
    table = table_name()
    write_postgres(pg_dsn(databases["transform"]), table, subscribers())
    return table


def run(databases, pg_table, docs):
    client = mongomock.MongoClient()
    client["stage"]["subscribers"].insert_many(docs)

    def opener(side, name):
        if side.kind == "mongo":
            return MongoAdapter(client["stage"], side, connection_label="stage_mongo")
        return open_cli_side(side, name)

    suite = parse_suite(suite_text(pg_table, pg_dsn(databases["transform"])))
    return {(r.check_name, r.group): r for r in run_suite(suite, Scope(env="test", cohort_id="C1"), opener)}


def test_same_data_in_postgres_and_mongo_matches_on_every_check(databases, pg_table):
    results = run(databases, pg_table, mongo_docs(subscribers()))
    assert all(r.passed for r in results.values()), {
        k: (r.expected, r.actual, r.message) for k, r in results.items() if not r.passed
    }
    assert results[("fingerprint", None)].actual.startswith("40:")


def test_drift_in_mongo_is_found(databases, pg_table):
    docs = mongo_docs(faulted(subscribers(), amount=(5, "0.01"), status=(6, "TERMINATED")))
    results = run(databases, pg_table, docs)
    assert results[("balance_total", None)].discrepancy == Decimal("0.01")
    assert {g for (n, g), r in results.items() if n == "rows_by_status" and not r.passed} == {"ACTIVE", "TERMINATED"}
    assert not results[("fingerprint", None)].passed


def test_airflow_opener_reaches_mongo_through_the_airflow_connection(monkeypatch, airflow_env):
    import pymongo

    from recon_operators.engine.adapters.base import AggregateRequest, Measure
    from recon_operators.engine.spec import SideSpec
    from recon_operators.hooks.databases import open_side

    client = mongomock.MongoClient()
    client["stage"]["users"].insert_many([{"contact": "62811", "sso": {"google": True}}, {"contact": "62812"}])
    seen = []
    monkeypatch.setattr(pymongo, "MongoClient", lambda uri, **kw: seen.append(uri) or client)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MONGO", "mongo://127.0.0.1:27017/stage")
    source = open_side(SideSpec(connection="stage_mongo", collection="users"), "target")
    rows = source.aggregate(AggregateRequest(measures=(Measure("n", "count"),)))
    assert rows == {(): {"n": 2}} and source.describe()["connection"] == "stage_mongo"
    assert seen == ["mongodb://127.0.0.1:27017/"]  # host and port from the Airflow connection
