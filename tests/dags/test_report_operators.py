"""The report operators in a small DAG (dag.test): mapped per batch and per prefix, per cohort,
with the stage gates reading their verdicts from the ledger. Data: generated, landed in moto S3,
loaded by the project's loaders into this session's transform / stage / target databases (an
MSISDN block no other test uses)."""

from __future__ import annotations

import uuid
from contextlib import closing
from datetime import datetime

import MySQLdb
import psycopg2
import pytest

from recon_operators.demo.faults import Fault, with_faults
from recon_operators.demo.generator import CohortSpec, PrefixSpec, generate, write_landing
from recon_operators.demo.loaders import load_stage, load_target, load_transform
from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, pg_dsn
from recon_operators.engine.adapters.files import s3_filesystem
from recon_operators.migration.landing import BatchRange
from tests.airflow_helpers import query as rows
from tests.airflow_helpers import run_test, task_states, xcom

pytestmark = pytest.mark.dags

BUCKET = "recon-report-ops"
PREFIXES = [
    PrefixSpec(
        "P899",
        "62899",
        [BatchRange("B1", "628990000000", "628990000059"), BatchRange("B2", "628990000060", "628990000099")],
    ),
    PrefixSpec("P898", "62898", [BatchRange("B1", "628980000000", "628980000049")]),
]


@pytest.fixture
def env(airflow_db, airflow_env, store_dsn, databases, monkeypatch, moto_server):
    monkeypatch.setenv("AIRFLOW_CONN_RECON_STORE", store_dsn)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MYSQL", f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{databases['stage']}")
    s3 = moto_server.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    return databases


def migrate(databases, moto_server, cohort_id: str, faults=()) -> None:
    tables = generate(CohortSpec(cohort_id, PREFIXES, seed=3, non_migratable_rate=0.0))
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    base = f"s3://{BUCKET}/test"
    write_landing(tables, filesystem=fs, base_path=base, cohort_id=cohort_id, fmt="csv")
    with (
        closing(psycopg2.connect(pg_dsn(databases["transform"]))) as transform,
        closing(psycopg2.connect(pg_dsn(databases["target"]))) as target,
        closing(MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=databases["stage"])) as stage,
    ):
        for prefix in PREFIXES:
            for b in prefix.batches:
                common = {
                    "cohort_id": cohort_id,
                    "batch": b,
                }
                with_faults(load_transform, faults)(landing_fs=fs, landing_base=base, pg_conn=transform, **common)
                with_faults(load_stage, faults)(pg_conn=transform, mysql_conn=stage, **common)
                with_faults(load_target, faults)(mysql_conn=stage, target_conn=target, **common)


def batch_scopes(cohort_id: str) -> list[dict[str, str]]:
    return [
        {
            "env": "test",
            "cohort_id": cohort_id,
            "prefix_id": p.prefix_id,
            "prefix": p.prefix,
            "batch_id": b.batch_id,
            "msisdn_start": b.msisdn_start,
            "msisdn_end": b.msisdn_end,
        }
        for p in PREFIXES
        for b in p.batches
    ]


def build_dag(cohort_id: str, *, mr2_config: str | None = None):
    from airflow.sdk import DAG

    from recon_operators.factories.gates import build_gate
    from recon_operators.operators.gate import ReconRunOutcomeOperator
    from recon_operators.operators.reports import (
        EtlStageReportOperator,
        MiniRecon2ReportOperator,
        MiniRecon3DataPrepOperator,
        MiniRecon3PrefixSummaryOperator,
        OverallSummaryOperator,
    )

    scopes = batch_scopes(cohort_id)
    prefixes = [{"env": "test", "cohort_id": cohort_id, "prefix_id": p.prefix_id, "prefix": p.prefix} for p in PREFIXES]
    cohort = {"env": "test", "cohort_id": cohort_id}
    common = {"landing_bucket": BUCKET}
    with DAG(
        dag_id=f"reports_{cohort_id}",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args={"owner": "tests"},
        tags=["test"],
    ) as dag:
        mr2 = MiniRecon2ReportOperator.partial(task_id="mini_recon_2", config_path=mr2_config, **common).expand(
            scope=scopes
        )
        gate2 = build_gate("gate_mini_recon_2", "stop", scope=cohort, stage="mini_recon_2", with_children=True)
        prep = MiniRecon3DataPrepOperator.partial(task_id="mr3_data_prep", **common).expand(scope=scopes)
        brm = MiniRecon3DataPrepOperator.partial(task_id="mr3_data_prep_brm", brm=True, **common).expand(scope=scopes)
        summary = MiniRecon3PrefixSummaryOperator.partial(task_id="mr3_prefix_summary").expand(scope=prefixes)
        summary_brm = MiniRecon3PrefixSummaryOperator.partial(task_id="mr3_prefix_summary_brm", brm=True).expand(
            scope=prefixes
        )
        gate3 = build_gate("gate_mini_recon_3", "warn", scope=cohort, stage="mini_recon_3", with_children=True)
        overall = OverallSummaryOperator(task_id="overall_summary", scope=cohort, batches=scopes, **common)
        etl = EtlStageReportOperator(task_id="etl_stage_report", scope=cohort, batches=scopes)
        outcome = ReconRunOutcomeOperator(
            task_id="recon_outcome", gate_task_ids=["gate_mini_recon_2", "gate_mini_recon_3"]
        )
        mr2 >> gate2 >> [prep, brm]
        prep >> summary
        brm >> summary_brm
        [summary, summary_brm] >> gate3 >> overall >> etl >> outcome
    return dag


def test_clean_cohort_every_report_passes_and_gates_see_them(env, moto_server, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    migrate(env, moto_server, cohort)
    run = run_test(build_dag(cohort))
    states = task_states(run)
    assert run.state == "success", states
    assert set(states.values()) == {"success"}
    stages = dict(
        rows(
            store_dsn,
            "SELECT stage, count(*) FILTER (WHERE status <> 'Match') FROM recon.check_result "
            "WHERE cohort_id = %s GROUP BY stage",
            cohort,
        )
    )
    assert stages == {"mini_recon_2": 0, "mini_recon_3": 0, "overall_summary": 0, "etl_stage_report": 0}
    logs = rows(
        store_dsn,
        'SELECT process_name, status, count(*) FROM "Migration".log_table WHERE cohort_id = %s '
        "GROUP BY 1, 2 ORDER BY 1",
        cohort,
    )
    assert logs == [
        ("etl_stage_report", "Passed", 1),
        ("mini_recon_2", "Passed", 3),
        ("mini_recon_3", "Passed", 10),
        ("overall_summary", "Passed", 1),
    ]
    assert xcom(run, "etl_stage_report")["status"] == "Match"
    assert rows(
        store_dsn,
        "SELECT count(*) FROM mini_recon_3.tbl_prefix_summary_brm WHERE cohort_id = %s AND status_match = 'Match'",
        cohort,
    ) == [(2,)]


def test_stage_drop_is_stopped_by_the_gate_and_recorded(env, moto_server, store_dsn):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    migrate(
        env, moto_server, cohort, Fault.from_conf([{"stage": "stage", "kind": "drop", "dataset": "addons", "n": 1}])
    )
    run = run_test(build_dag(cohort))
    states = task_states(run)
    assert states["mini_recon_2"] == "success" and states["gate_mini_recon_2"] == "failed"
    assert states["mr3_data_prep"] == "upstream_failed" and states["etl_stage_report"] == "upstream_failed"
    assert run.state == "failed"
    failed = rows(
        store_dsn,
        "SELECT check_name, batch_id FROM recon.check_result WHERE cohort_id = %s AND status = 'Mismatch' ORDER BY 2",
        cohort,
    )
    assert {c for c, _ in failed} == {"addon_validation:Subscription"} and len({b for _, b in failed}) >= 1
    assert rows(store_dsn, "SELECT outcome FROM recon.gate_decision WHERE scope->>'cohort_id' = %s", cohort) == [
        ("Blocked",)
    ]


def test_bad_config_fails_the_task_with_one_line_and_a_failed_log(env, moto_server, store_dsn, tmp_path):
    cohort = f"C{uuid.uuid4().hex[:8]}"
    bad = tmp_path / "mr2.yaml"
    bad.write_text("measures: [{report: transformed_msisdn, service: T, subset: s, transform: 'x y', stage: s}]")
    run = run_test(build_dag(cohort, mr2_config=str(bad)))
    assert task_states(run)["mini_recon_2"] == "failed" and run.state == "failed"
    logs = rows(store_dsn, 'SELECT status, error FROM "Migration".log_table WHERE cohort_id = %s', cohort)
    assert len(logs) == 3 and {s for s, _ in logs} == {"Failed"}
    assert all(e.startswith(f"{bad} line 1: field measures[0].transform.table:") and "\n" not in e for _, e in logs)


def test_mongo_stage_is_opened_through_the_airflow_connection(env, moto_server, store_dsn, monkeypatch, tmp_path):
    """A Mongo stage reaches the report through its Airflow connection (mongomock behind pymongo)."""
    from contextlib import ExitStack

    import mongomock
    import pymongo
    import yaml

    from recon_operators.migration.mr2_reports import write_mr2_batch
    from recon_operators.migration.report_config import load_measures
    from recon_operators.migration.report_sql import ReportScope
    from recon_operators.operators.reports import MiniRecon2ReportOperator

    cohort = f"C{uuid.uuid4().hex[:8]}"
    migrate(env, moto_server, cohort)
    client = mongomock.MongoClient()
    scope = batch_scopes(cohort)[0]
    with closing(psycopg2.connect(pg_dsn(env["transform"]))) as transform, transform.cursor() as cur:
        cur.execute(
            "SELECT msisdn, subscriber_status FROM transform.subscribers WHERE cohort_id = %s "
            "AND msisdn BETWEEN %s AND %s",
            (cohort, scope["msisdn_start"], scope["msisdn_end"]),
        )
        subscribers = cur.fetchall()
    docs = [{"msisdn": m, "subscriber_status": s, "cohort": cohort} for m, s in subscribers]
    client["stage"]["subscribers"].insert_many(docs[1:])  # one subscriber never reached the stage
    monkeypatch.setattr(pymongo, "MongoClient", lambda uri, **options: client)
    monkeypatch.setenv("AIRFLOW_CONN_STAGE_MONGO", "mongo://127.0.0.1:27017/stage")
    config = tmp_path / "mr2.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "measures": [
                    {
                        "report": "status_comparison",
                        "service": "Telco",
                        "subset": "status",
                        "distinct": "msisdn",
                        "group_by": "subscriber_status",
                        "transform": {"table": "transform.subscribers", "cohort_column": "cohort_id"},
                        "stage": {"store": "mongodb", "collection": "subscribers", "cohort_column": "cohort"},
                    }
                ]
            }
        )
    )
    operator = MiniRecon2ReportOperator(task_id="mr2_mongo", scope=scope, stage_mongo_conn_id="stage_mongo")
    with ExitStack() as stack:
        layers = operator._layers(stack)
        assert layers.stage_mongo.name == "stage"
        with closing(psycopg2.connect(store_dsn)) as store:
            written = write_mr2_batch(store, layers, load_measures(config), ReportScope.from_mapping("r", scope))
    differences = {r.subset: r.upstream_count - r.downstream_count for r in written["rows"]}
    assert differences == {
        f"status={s}": int(s == docs[0]["subscriber_status"]) for s in {d["subscriber_status"] for d in docs}
    }
    assert written["summary"] == {"Telco": "Failed"}
